using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Running;

namespace MlPlatform.AppHost.Tests.Running;

public sealed class RedisRunTests
{
    [Fact]
    public async Task Start_GatewayTwoReplicas_StartsRedisAndGivesEachGatewayItsConnectionString()
    {
        var configuration = AppHostConfiguration.Build([], new Dictionary<string, string?>
        {
            ["AppHost:GatewayPort"] = "0",
            ["AppHost:Replicas:gateway"] = "2",
            ["AppHost:Replicas:inference"] = "1",
            ["AppHost:Replicas:preprocessing"] = "1",
            ["AppHost:Replicas:postprocessing"] = "1",
        });
        var model = MlPlatformApplication.Describe(configuration, AppHostConfiguration.ModelRepository(configuration));
        await using var run = new LocalRun(model, new LocalRunOptions { EchoConsole = false });

        await run.StartAsync(CancellationToken.None);

        var redis = run.ExecutableOf("redis");
        Assert.Equal(ReplicaState.Running, redis.State);
        Assert.NotNull(redis.ProcessId);
        Assert.Equal("+PONG", await PingAsync(redis.Port));
        foreach (var gateway in run.ReplicasOf("gateway"))
        {
            Assert.Equal($"127.0.0.1:{redis.Port}", gateway.Environment["ConnectionStrings__redis"]);
            Assert.Equal("redis", gateway.Environment["Gateway__RateLimiting__Policy"]);
        }

        Assert.DoesNotContain("ConnectionStrings__redis", run.ReplicasOf("inference")[0].Environment.Keys);

        redis.Kill();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((redis.RestartCount == 0 || redis.State != ReplicaState.Running) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(ReplicaState.Running, redis.State);
        Assert.Equal("+PONG", await PingAsync(redis.Port));
    }

    private static async Task<string> PingAsync(int port)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray());
        var buffer = new byte[16];
        var read = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read).TrimEnd();
    }
}
