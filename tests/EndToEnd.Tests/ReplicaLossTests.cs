using System.Net;
using System.Net.Http.Headers;
using MlPlatform.TestSupport;

namespace MlPlatform.EndToEnd.Tests;

[Collection(PlatformCollection.Name)]
public sealed class ReplicaLossTests(PlatformFixture fixture)
{
    [Fact]
    public async Task Predict_OneInferenceAndOnePreprocessingReplicaKilled_NoClientRequestFails()
    {
        await fixture.Platform.WaitUntilAllHealthyAsync(TimeSpan.FromSeconds(60));
        var images = HoldOutDigits.Load().Take(32).Select(d => DigitImages.BlackOnWhite(d)).ToArray();
        var failures = new List<string>();
        var succeeded = 0;
        var afterKills = new int[8];
        var killsDone = false;
        using var stop = new CancellationTokenSource();

        async Task ClientAsync(int client)
        {
            var i = client;
            while (!stop.IsCancellationRequested)
            {
                var sentAfterKills = Volatile.Read(ref killsDone);
                using var content = new ByteArrayContent(images[i++ % images.Length]);
                content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
                using var response = await fixture.Gateway.PostAsync("/v1/models/mnist:predict", content, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref succeeded);
                    afterKills[client] += sentAfterKills ? 1 : 0;
                }
                else
                {
                    var body = await response.Content.ReadAsStringAsync();
                    lock (failures)
                    {
                        failures.Add($"{(int)response.StatusCode}: {body}");
                    }
                }
            }
        }

        var clients = Enumerable.Range(0, 8).Select(ClientAsync).ToArray();
        await WaitUntilAsync(() => Volatile.Read(ref succeeded) >= 8);
        var inference = fixture.Platform.Replicas("inference")[0];
        fixture.Platform.Kill(inference);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var preprocessing = fixture.Platform.Replicas("preprocessing")[1];
        fixture.Platform.Kill(preprocessing);
        Volatile.Write(ref killsDone, true);

        // Load goes on until every client has had answers sent after both kills, however slow the machine.
        await WaitUntilAsync(() => afterKills.All(n => n >= 3));
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.True(failures.Count == 0, $"{failures.Count} of {failures.Count + succeeded} requests failed; first: {failures.FirstOrDefault()}");

        // The AppHost starts both again, and they come up healthy.
        await WaitUntilAsync(() => fixture.Platform.Replica(inference.ResourceId) is { Starts: > 1, IsRunningAndHealthy: true }
            && fixture.Platform.Replica(preprocessing.ResourceId) is { Starts: > 1, IsRunningAndHealthy: true });
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (!condition())
        {
            await Task.Delay(50, deadline.Token);
        }
    }
}
