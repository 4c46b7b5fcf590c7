using System.Net;
using System.Text.Json;
using MlPlatform.AppHost.ModelControl;

namespace MlPlatform.EndToEnd.Tests;

/// <summary>The dashboard's "Reload models" command on inference, run as the dashboard runs it: once per replica.</summary>
[Collection(PlatformCollection.Name)]
public sealed class ReloadModelsTests(PlatformFixture fixture)
{
    [Fact]
    public async Task ReloadModels_OnEveryInferenceReplica_ReloadsAndKeepsServing()
    {
        // Other tests of the collection kill replicas; each comes back on a port of its own.
        await fixture.Platform.WaitUntilAllHealthyAsync(TimeSpan.FromMinutes(2));
        var replicas = fixture.Platform.Replicas("inference");
        Assert.NotEmpty(replicas);

        foreach (var replica in replicas)
        {
            // A replica another test has just killed may still show as healthy a moment before it goes: the command
            // rightly fails on it then, and is run again once it is back.
            var retryUntil = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            var result = await fixture.Platform.ExecuteCommandAsync(replica.ResourceId, ReloadModelsCommand.Name);
            while (!result.Success && result.Message?.Contains("could not be asked", StringComparison.Ordinal) == true && DateTime.UtcNow < retryUntil)
            {
                await Task.Delay(1000);
                await fixture.Platform.WaitUntilAllHealthyAsync(TimeSpan.FromMinutes(2));
                result = await fixture.Platform.ExecuteCommandAsync(replica.ResourceId, ReloadModelsCommand.Name);
            }

            Assert.True(result.Success, $"{replica.ResourceId}: {result.Message}");

            // The replica itself, not the address that spreads calls over all of them, lists every model ready.
            using var client = new HttpClient { BaseAddress = replica.Url };
            using var index = await client.PostAsync("/v2/repository/index", null);
            Assert.Equal(HttpStatusCode.OK, index.StatusCode);
            var entries = JsonDocument.Parse(await index.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToArray();
            Assert.Contains(entries, e => e.GetProperty("name").GetString() == "mnist");
            Assert.All(entries, e => Assert.Equal("READY", e.GetProperty("state").GetString()));
        }

        // Each replica logs the load; the logs reach the AppHost a moment after the command returns.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (fixture.Platform.ConsoleLines("inference").Count(line => line.Contains("Model mnist loaded by a model control call", StringComparison.Ordinal)) < replicas.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, "not every replica logged the reload");
            await Task.Delay(200);
        }

        using var predict = await fixture.Gateway.GetAsync("/v2/models/mnist/ready");
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
    }
}
