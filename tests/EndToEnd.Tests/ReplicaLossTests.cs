using System.Net;
using System.Net.Http.Headers;
using MlPlatform.AppHost.Running;
using MlPlatform.TestSupport;

namespace MlPlatform.EndToEnd.Tests;

[Collection(PlatformCollection.Name)]
public sealed class ReplicaLossTests(PlatformFixture fixture)
{
    [Fact]
    public async Task Predict_OneInferenceAndOnePreprocessingReplicaKilled_NoClientRequestFails()
    {
        var images = HoldOutDigits.Load().Take(32).Select(d => DigitImages.BlackOnWhite(d)).ToArray();
        var failures = new List<string>();
        var succeeded = 0;
        using var load = new CancellationTokenSource(TimeSpan.FromSeconds(12));

        async Task ClientAsync(int client)
        {
            var i = client;
            while (!load.IsCancellationRequested)
            {
                using var content = new ByteArrayContent(images[i++ % images.Length]);
                content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
                using var response = await fixture.Gateway.PostAsync("/v1/models/mnist:predict", content, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref succeeded);
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
        await Task.Delay(TimeSpan.FromSeconds(2));
        var inference = fixture.App.Replicas("inference")[0];
        inference.Kill();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var preprocessing = fixture.App.Replicas("preprocessing")[1];
        preprocessing.Kill();
        await Task.WhenAll(clients);

        Assert.True(failures.Count == 0, $"{failures.Count} of {failures.Count + succeeded} requests failed; first: {failures.FirstOrDefault()}");
        Assert.True(succeeded > 50, $"only {succeeded} predictions in 12 s");

        // The AppHost brings both back.
        await fixture.App.WaitUntilRunningAsync("inference", TimeSpan.FromSeconds(60));
        await fixture.App.WaitUntilRunningAsync("preprocessing", TimeSpan.FromSeconds(60));
        Assert.True(inference.RestartCount >= 1);
        Assert.True(preprocessing.RestartCount >= 1);
        Assert.Equal(ReplicaState.Running, inference.State);
    }
}
