using System.Net.Http.Headers;
using System.Text.Json;
using MlPlatform.AppHost;

namespace Aspire.Hosting;

public static class GatewayResourceExtensions
{
    public const string TryItPath = "/try";
    public const string TestPredictionCommand = "send-test-prediction";

    /// <summary>
    /// Links the gateway's development page for trying a prediction from the dashboard (it links each prediction's
    /// trace back to the dashboard), and adds a command
    /// that predicts the bundled example through the gateway, as the README's curl does.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithTryItPage(this IResourceBuilder<ProjectResource> gateway, string? apiKey, string? dashboardUrl)
    {
        // A local run's only: a published gateway serves no try page, and a key has no place in its ConfigMap.
        if (!gateway.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            return gateway;
        }

        if (apiKey is not null)
        {
            gateway.WithEnvironment("Gateway__TryIt__ApiKey", apiKey);
        }

        if (dashboardUrl is not null)
        {
            gateway.WithEnvironment("Gateway__TryIt__DashboardUrl", dashboardUrl);
        }

        gateway.WithUrls(context =>
        {
            if (context.GetEndpoint("http") is { IsAllocated: true } endpoint)
            {
                context.Urls.Add(new ResourceUrlAnnotation { Url = endpoint.Url + TryItPath, DisplayText = "Try it" });
                context.Urls.Add(new ResourceUrlAnnotation { Url = endpoint.Url + "/docs", DisplayText = "API reference" });
            }
        });

        return gateway.WithCommand(
            TestPredictionCommand,
            "Send a test prediction",
            context => SendTestPredictionAsync(gateway.Resource, apiKey, context.CancellationToken),
            new CommandOptions
            {
                Description = "Predicts models/mnist/example-7.png through the gateway with the development key",
                IconName = "Play",
                UpdateState = state => state.ResourceSnapshot.State?.Text == KnownResourceStates.Running
                    ? ResourceCommandState.Enabled
                    : ResourceCommandState.Disabled,
            });
    }

    /// <summary>
    /// In a local run, the gateway opens new connections to a service's DCP proxy this often: the proxy balances
    /// connections, so a replica started again after a crash gets work only on connections opened after it.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithLocalConnectionLifetime(this IResourceBuilder<ProjectResource> gateway, TimeSpan lifetime) =>
        gateway.ApplicationBuilder.ExecutionContext.IsRunMode
            ? gateway.WithEnvironment("Gateway__ConnectionLifetime", lifetime.ToString("c", System.Globalization.CultureInfo.InvariantCulture))
            : gateway;

    private static async Task<ExecuteCommandResult> SendTestPredictionAsync(ProjectResource gateway, string? apiKey, CancellationToken cancellationToken)
    {
        var endpoint = gateway.GetEndpoint("http");
        var image = Path.Combine(AppHostSettings.RepositoryRoot, "models", "mnist", "example-7.png");
        if (!File.Exists(image))
        {
            return CommandResults.Failure($"{image} does not exist");
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var content = new ByteArrayContent(await File.ReadAllBytesAsync(image, cancellationToken).ConfigureAwait(false));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{endpoint.Url}/v1/models/mnist:predict") { Content = content };
        if (!string.IsNullOrEmpty(apiKey))
        {
            request.Headers.Add("apikey", apiKey);
        }

        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return CommandResults.Failure($"{(int)response.StatusCode}: {body}");
            }

            using var json = JsonDocument.Parse(body);
            var prediction = json.RootElement.GetProperty("predictions")[0];
            return CommandResults.Success($"predicted {prediction.GetProperty("label").GetString()} with score {prediction.GetProperty("score").GetDouble():0.####}");
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return CommandResults.Failure(exception.Message);
        }
    }
}
