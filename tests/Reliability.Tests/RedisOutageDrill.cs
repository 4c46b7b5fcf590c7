using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Aspire.Hosting.ApplicationModel;
using MlPlatform.Platform.Testing;
using MlPlatform.Reliability.Tests.Support;

namespace MlPlatform.Reliability.Tests;

/// <summary>
/// Drill 2: the Redis the two gateways count rate limits in dies under load. Killed, the AppHost starts it again
/// by itself; stopped (from the dashboard) it stays away for a while. The gateways are fault tolerant
/// (<c>Gateway:RateLimiting:FaultTolerant</c>, on by default): traffic goes on uncounted, without rate-limit
/// headers and without a 5xx; once Redis is back, counting resumes by itself.
/// </summary>
[Collection(RedundantPlatformCollection.Name)]
public sealed class RedisOutageDrill(RedundantPlatformFixture fixture, ITestOutputHelper output)
{
    private const string CounterKeys = "mlplatform:ratelimit:*";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RedisKilledUnderLoad_TrafficGoesOnWithoutA5xx_AndCountingResumesOnceItIsBack()
    {
        await fixture.WaitUntilAllRunningAsync();
        var platform = fixture.Platform;
        var redis = Assert.Single(platform.Replicas("redis"));
        var redisPort = platform.ServiceUrl("redis", "tcp").Port;
        using var gateway = fixture.CreateGatewayClient();
        await using var load = PredictLoad.Start(gateway, fixture.Images, clients: 8);

        // Before: every gateway counts in Redis, so answers carry the hour window's remaining count and its keys exist.
        await Eventually.WaitAsync(() => load.Outcomes.Count(o => o.Succeeded && o.RemainingHour is not null) >= 16, Deadline, "counted answers before the outage");
        Assert.NotEmpty(await RedisCommands.KeysAsync(redisPort, CounterKeys));

        // A crash (SIGKILL): the AppHost starts Redis again by itself.
        var killedProcess = platform.Kill(redis);
        var sinceKill = Stopwatch.StartNew();
        await Eventually.WaitAsync(
            () => platform.Replica(redis.ResourceId) is { Starts: > 1, IsRunningAndHealthy: true },
            Deadline,
            $"Redis started again after kill -9 (now {platform.Replica(redis.ResourceId)})");
        var restartedAfter = sinceKill.Elapsed;
        await Eventually.WaitAsync(() => CountsOnEveryGatewayAsync(), Deadline, "every gateway counting in Redis after its restart", TimeSpan.FromMilliseconds(250));

        // Then held down, as a stop from the dashboard does: the AppHost leaves a stopped resource stopped.
        var downAt = load.Now;
        Assert.True((await platform.ExecuteCommandAsync(redis.ResourceId, KnownResourceCommands.StopCommand)).Success, "Redis could not be stopped");

        // Traffic goes on: every client keeps being answered, and answers come back uncounted (no headers),
        // which shows the gateways really lost Redis rather than the drill missing it. A few seconds at least,
        // so the gateways' reconnect attempts run their course under load too.
        var heldDown = Task.Delay(TimeSpan.FromSeconds(5));
        await Eventually.WaitAsync(
            () => load.EveryClientSucceededSince(downAt, 5) && load.Outcomes.Count(o => o.SentAt >= downAt && o.Succeeded && o.RemainingHour is null) >= 32,
            Deadline,
            "uncounted answers while Redis is down");
        await heldDown;
        Assert.NotEqual(KnownResourceStates.Running, platform.Replica(redis.ResourceId).State);
        var upAt = load.Now;

        Assert.True((await platform.ExecuteCommandAsync(redis.ResourceId, KnownResourceCommands.StartCommand)).Success, "Redis could not be started again");
        var sinceStart = Stopwatch.StartNew();
        await Eventually.WaitAsync(() => platform.Replica(redis.ResourceId).State == KnownResourceStates.Running, Deadline, "Redis running again");
        var redisRunning = sinceStart.Elapsed;

        // Counting resumes on each gateway: two requests in a row to it see the hour's remaining count go down.
        await Eventually.WaitAsync(() => CountsOnEveryGatewayAsync(), Deadline, "every gateway counting in Redis again", TimeSpan.FromMilliseconds(250));
        var resumed = sinceStart.Elapsed;

        var keysAfter = await RedisCommands.KeysAsync(redisPort, CounterKeys);
        var countedAgainAt = load.Now;
        await Eventually.WaitAsync(() => load.EveryClientSucceededSince(countedAgainAt, 3), TimeSpan.FromSeconds(60), "every client answered after Redis came back");
        await load.StopAsync();

        var outcomes = load.Outcomes;
        var failures = outcomes.Where(o => !o.Succeeded).ToList();
        var duringOutage = outcomes.Where(o => o.SentAt >= downAt && o.SentAt < upAt).ToList();
        output.WriteLine($"{redis.ResourceId}: killed pid {killedProcess}, running and healthy again after {restartedAfter.TotalSeconds:0.0} s");
        output.WriteLine($"stopped, held down {(upAt - downAt).TotalSeconds:0.0} s, running {redisRunning.TotalSeconds:0.0} s after start, every gateway counting again after {resumed.TotalSeconds:0.0} s");
        output.WriteLine($"outage: {duringOutage.Count} requests sent, {duringOutage.Count(o => o.Succeeded)} answered 2xx, {duringOutage.Count(o => o.Succeeded && o.RemainingHour is null)} of them uncounted (no rate-limit headers); keys now: {string.Join(", ", keysAfter)}");
        output.WriteLine($"load: {outcomes.Count} requests, {failures.Count} failed; statuses: {string.Join(", ", outcomes.GroupBy(o => o.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}");

        Assert.True(
            failures.Count == 0,
            $"{failures.Count} of {outcomes.Count} requests failed around the Redis outage; first ones:{Environment.NewLine}"
            + string.Join(Environment.NewLine, failures.Take(5).Select(f => $"  at {f.SentAt.TotalSeconds:0.00} s (down {downAt.TotalSeconds:0.00}-{upAt.TotalSeconds:0.00} s): {f.Failure}")));
        Assert.Contains(keysAfter, key => key.Contains(":hour:", StringComparison.Ordinal));
    }

    private async Task<bool> CountsOnEveryGatewayAsync()
    {
        foreach (var gateway in fixture.Platform.Replicas("gateway"))
        {
            using var direct = new RetryingGatewayClient(gateway.Url ?? throw new InvalidOperationException($"{gateway.ResourceId} has no address"));
            if (!await CountsAsync(direct))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Two predicts in a row through one gateway, both counted, the second with less room than the first.</summary>
    private async Task<bool> CountsAsync(RetryingGatewayClient gateway)
    {
        var first = await RemainingHourAsync(gateway);
        var second = await RemainingHourAsync(gateway);
        return first is not null && second is not null && second < first;
    }

    private async Task<long?> RemainingHourAsync(RetryingGatewayClient gateway)
    {
        using var answer = await gateway.SendAsync(() =>
        {
            var content = new ByteArrayContent(fixture.Images[0]);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            return new HttpRequestMessage(HttpMethod.Post, "/v1/models/mnist:predict") { Content = content };
        });
        Assert.True(answer.Response.IsSuccessStatusCode, $"the gateway answered {(int)answer.Response.StatusCode}");
        return answer.Response.Headers.TryGetValues("X-RateLimit-Remaining-Hour", out var values)
            ? long.Parse(values.First(), CultureInfo.InvariantCulture)
            : null;
    }
}
