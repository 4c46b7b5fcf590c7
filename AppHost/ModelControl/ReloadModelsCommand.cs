using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace MlPlatform.AppHost.ModelControl;

/// <summary>
/// The inference service's dashboard command "Reload models": on the replica it is run for, every model of the
/// repository is loaded again through the model control API, so a new version or a changed config dropped into the
/// repository is served without a restart, with the swap the API makes (requests in flight finish on the old one).
/// </summary>
public static class ReloadModelsCommand
{
    public const string Name = "reload-models";

    /// <summary>Runs the service in Triton's explicit model control mode, every model loaded at start, and adds the command.</summary>
    public static IResourceBuilder<ProjectResource> WithModelControl(this IResourceBuilder<ProjectResource> inference)
    {
        inference.ApplicationBuilder.Services.AddHttpClient(Name);
        return inference
            .WithEnvironment("Inference__ModelControlMode", "explicit")
            .WithEnvironment("Inference__StartupModels__0", "*")
            .WithCommand(Name, "Reload models", ExecuteAsync, new CommandOptions
            {
                Description = "Loads every model of the repository again: new versions and changed configs take over once warmed up.",
                IconName = "ArrowSync",
                UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running
                    ? ResourceCommandState.Enabled
                    : ResourceCommandState.Disabled,
            });
    }

    private static async Task<ExecuteCommandResult> ExecuteAsync(ExecuteCommandContext context)
    {
        // The replica's own address: the endpoint Aspire gives the resource spreads calls over every replica.
        var notifications = context.Services.GetRequiredService<ResourceNotificationService>();
        if (!notifications.TryGetCurrentState(context.ResourceName, out var state)
            || state.Snapshot.EnvironmentVariables.FirstOrDefault(e => e.Name == "ASPNETCORE_URLS")?.Value?.Split(';')[0] is not { Length: > 0 } url
            || !Uri.TryCreate(url, UriKind.Absolute, out var address))
        {
            return CommandResults.Failure($"the address of {context.ResourceName} is not known yet; try again once it runs");
        }

        using var client = context.Services.GetRequiredService<IHttpClientFactory>().CreateClient(Name);
        client.BaseAddress = address;
        try
        {
            using var index = await client.PostAsync("/v2/repository/index", null, context.CancellationToken).ConfigureAwait(false);
            if (!index.IsSuccessStatusCode)
            {
                return CommandResults.Failure($"the repository index answered {(int)index.StatusCode}");
            }

            var models = (await index.Content.ReadFromJsonAsync<JsonElement>(context.CancellationToken).ConfigureAwait(false))
                .EnumerateArray().Select(entry => entry.GetProperty("name").GetString()!).Distinct(StringComparer.Ordinal).ToArray();
            var failures = new List<string>();
            foreach (var model in models)
            {
                using var load = await client.PostAsync($"/v2/repository/models/{Uri.EscapeDataString(model)}/load", null, context.CancellationToken).ConfigureAwait(false);
                if (!load.IsSuccessStatusCode)
                {
                    failures.Add($"{model}: {await ErrorOf(load, context.CancellationToken).ConfigureAwait(false)}");
                }
            }

            return failures.Count == 0
                ? CommandResults.Success()
                : CommandResults.Failure($"{failures.Count} of {models.Length} models did not load: {string.Join("; ", failures)}");
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return CommandResults.Failure($"{context.ResourceName} could not be asked: {exception.Message}");
        }
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonDocument.Parse(body).RootElement.GetProperty("error").GetString() ?? body;
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"{(int)response.StatusCode} {body}";
        }
    }
}
