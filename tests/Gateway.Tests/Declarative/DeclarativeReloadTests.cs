using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// Hot reload: a changed file, or <c>POST /config</c> on the management port, is served without a restart; a key is
/// rotated under load with no 5xx; a bad configuration is refused with its problems and the old one stays.
/// </summary>
[Collection(RateLimitCollection.Name)]
public sealed class DeclarativeReloadTests
{
    private const string OldKey = "old-key-0000000000";
    private const string NewKey = "new-key-1111111111";

    private static string Config(string key, int second) => $$"""
        _format_version: "3.0"
        services:
        - name: alpha
          url: http://alpha
          routes:
          - name: models
            paths: [/v2]
            strip_path: false
          plugins:
          - name: key-auth
          - name: rate-limiting
            config: {second: {{second}}, hour: 100000000}
        consumers:
        - username: rotating
          keyauth_credentials:
          - key: {{key}}
        """;

    [Fact]
    public async Task KeyRotatedAndLimitChanged_Under8Clients_NoServerError_NewKeyWithinOneSecond_OldKey401_CountersKept()
    {
        await using var alpha = await StandIn.StartAsync("alpha-0");
        await using var gateway = await KongGateway.StartAsync(Config(OldKey, 100_000), new Dictionary<string, Uri[]> { ["alpha"] = [alpha.Address] });
        using var before = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", OldKey));
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        var hourBefore = long.Parse(GatewayHttp.Header(before, "X-RateLimit-Remaining-Hour")!, CultureInfo.InvariantCulture);

        var statuses = new ConcurrentDictionary<int, int>();
        var rotated = 0;
        using var stop = new CancellationTokenSource();
        async Task ClientAsync(int index)
        {
            while (!stop.IsCancellationRequested)
            {
                // Each client uses the key it believes current, as clients do while a rotation rolls out.
                var key = Volatile.Read(ref rotated) == 1 && index % 2 == 0 ? NewKey : OldKey;
                using var response = await gateway.Client.SendAsync(PolicySettings.Get($"/v2/load/{index}", key));
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            }
        }

        var clients = Enumerable.Range(0, 8).Select(ClientAsync).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(1));

        await gateway.RewriteAsync(Config(NewKey, 200_000));
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref rotated, 1);
        HttpResponseMessage accepted;
        while (true)
        {
            var probe = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", NewKey));
            if (probe.StatusCode == HttpStatusCode.OK)
            {
                accepted = probe;
                break;
            }

            probe.Dispose();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the new key was never accepted");
            await Task.Delay(20);
        }

        var acceptedAfter = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        using (accepted)
        {
            Assert.True(acceptedAfter < TimeSpan.FromSeconds(1), $"the new key was accepted only after {acceptedAfter}");
            // The changed limit is served; the unchanged hour window went on counting from where it was.
            Assert.Equal("200000", GatewayHttp.Header(accepted, "X-RateLimit-Limit-Second"));
            var hourAfter = long.Parse(GatewayHttp.Header(accepted, "X-RateLimit-Remaining-Hour")!, CultureInfo.InvariantCulture);
            Assert.True(hourAfter < hourBefore - 10, $"the hour counter restarted: {hourBefore} before, {hourAfter} after");
        }

        using var old = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", OldKey));
        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        Assert.All(statuses.Keys, status => Assert.True(status is 200 or 401, $"status {status} under rotation: {string.Join(", ", statuses)}"));
        Assert.True(statuses.GetValueOrDefault(200) > 100, $"too little load: {string.Join(", ", statuses)}");
    }

    [Fact]
    public async Task BadFile_IsRefused_TheOldConfigurationStays_AndAGoodOneAfterItIsServed()
    {
        await using var alpha = await StandIn.StartAsync("alpha-0");
        await using var gateway = await KongGateway.StartAsync(Config(OldKey, 1000), new Dictionary<string, Uri[]> { ["alpha"] = [alpha.Address] });
        var broken = Config(NewKey, 1000).Replace("hour: 100000000", "minute: 10", StringComparison.Ordinal) + "\nplugins:\n- name: no-such-plugin\n";
        await gateway.RewriteAsync(broken);
        await WaitForLogAsync(gateway, "refused");
        Assert.Contains("no-such-plugin", gateway.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(NewKey, gateway.Process.Output, StringComparison.Ordinal);
        using (var stillOld = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", OldKey)))
        {
            Assert.Equal(HttpStatusCode.OK, stillOld.StatusCode);
        }

        await gateway.RewriteAsync(Config(NewKey, 1000));
        await WaitUntilAsync(async () =>
        {
            using var response = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", NewKey));
            return response.StatusCode == HttpStatusCode.OK;
        });
    }

    [Fact]
    public async Task PostConfig_AsksForTheAdminToken_RefusesBadConfigurations_AndServesGoodOnes()
    {
        await using var alpha = await StandIn.StartAsync("alpha-0");
        await using var gateway = await KongGateway.StartAsync(Config(OldKey, 1000), new Dictionary<string, Uri[]> { ["alpha"] = [alpha.Address] });
        var admin = gateway.Process.ManagementClient;

        foreach (var token in new[] { null, "", "wrong-token-0123456789", KongGateway.AdminToken + "x", KongGateway.AdminToken.ToUpperInvariant() })
        {
            using var request = Post(Config(NewKey, 1000), token);
            using var response = await admin.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // Every problem at once, each with its path; nothing changes.
        var bad = Config(NewKey, 1000).Replace("hour: 100000000", "minute: 10", StringComparison.Ordinal) + "\nplugins:\n- name: no-such-plugin\n";
        using (var response = await admin.SendAsync(Post(bad, KongGateway.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(14, body.RootElement.GetProperty("code").GetInt32());
            var problems = body.RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToArray();
            Assert.Equal(2, problems.Length);
            Assert.Contains(problems, p => p.StartsWith("services[0].plugins[1].config", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith("plugins[0].name", StringComparison.Ordinal));
        }

        foreach (var garbage in new[] { "", "{", "\u0000\u0001", "[1,2,3]", "_format_version: \"2.1\"", new string('[', 100_000) })
        {
            using var response = await admin.SendAsync(Post(garbage, KongGateway.AdminToken));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using (var notText = new HttpRequestMessage(HttpMethod.Post, "/config") { Content = new ByteArrayContent([0xff, 0xfe, 0xfd]) })
        {
            notText.Headers.Add("Kong-Admin-Token", KongGateway.AdminToken);
            using var response = await admin.SendAsync(notText);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using (var stillOld = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", OldKey)))
        {
            Assert.Equal(HttpStatusCode.OK, stillOld.StatusCode);
        }

        using (var response = await admin.SendAsync(Post(Config(NewKey, 1000), KongGateway.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(1, body.RootElement.GetProperty("routes").GetInt32());
        }

        // Applied when the answer came: no wait.
        using (var fresh = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", NewKey)))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }

        using (var old = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", OldKey)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        // The admin API is the management port's alone.
        using var onPublic = await gateway.Client.SendAsync(Post(Config(OldKey, 1000), KongGateway.AdminToken));
        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);
    }

    private static HttpRequestMessage Post(string yaml, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/config") { Content = new StringContent(yaml, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/yaml");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Kong-Admin-Token", token);
        }

        return request;
    }

    private static Task WaitForLogAsync(KongGateway gateway, string text) =>
        WaitUntilAsync(() => Task.FromResult(gateway.Process.Output.Contains(text, StringComparison.Ordinal)));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "the condition never held");
            await Task.Delay(50);
        }
    }
}
