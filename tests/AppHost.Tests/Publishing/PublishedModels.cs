using Microsoft.Extensions.DependencyInjection;
using MlPlatform.AppHost.Publishing;
using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary>
/// The application model as the publish step reads it: the AppHost's Program run with <c>--operation publish</c>
/// and the given settings, built (never started) and turned into a <see cref="PublishedApplication"/>.
/// </summary>
public sealed class PublishedModels : IAsyncLifetime
{
    internal PublishedApplication Default { get; private set; } = null!;

    /// <summary><c>--AppHost:Replicas:gateway=2</c>: the gateways share their rate-limit counts in Redis.</summary>
    internal PublishedApplication TwoGateways { get; private set; } = null!;

    /// <summary><c>--AppHost:Replicas:inference=3 --AppHost:Replicas:gateway=2</c>.</summary>
    internal PublishedApplication Scaled { get; private set; } = null!;

    /// <summary><c>--AppHost:Gateway:RateLimitPolicy=redis</c> with one gateway.</summary>
    internal PublishedApplication RedisPolicy { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Default = await ReadAsync();
        TwoGateways = await ReadAsync("--AppHost:Replicas:gateway=2");
        Scaled = await ReadAsync("--AppHost:Replicas:inference=3", "--AppHost:Replicas:gateway=2");
        RedisPolicy = await ReadAsync("--AppHost:Gateway:RateLimitPolicy=redis");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <remarks>
    /// Once built, the AppHost's Program goes on into <c>Run()</c>, which in publish mode runs the publish pipeline
    /// (the testing builder does not hold it back as it holds back a run). Its output goes to a folder of its own,
    /// removed afterwards, instead of AppHost/aspire-output.
    /// </remarks>
    internal static async Task<PublishedApplication> ReadAsync(params string[] settings)
    {
        var pipelineOutput = Path.Combine(Path.GetTempPath(), $"mlplatform-publish-model-{Guid.NewGuid():N}");
        try
        {
            await using var builder = await AppHostModel.CreateBuilderAsync(["--operation", "publish", "--output-path", pipelineOutput, .. settings]);
            await using var app = builder.Build();
            var executionContext = app.Services.GetRequiredService<DistributedApplicationExecutionContext>();
            Assert.True(executionContext.IsPublishMode);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await PublishedApplication.ReadAsync(
                app.Services.GetRequiredService<DistributedApplicationModel>(),
                executionContext,
                AppHostSettings.RepositoryRoot,
                timeout.Token);
        }
        finally
        {
            // Disposal waits for the Program to end, so nothing writes here any more.
            if (Directory.Exists(pipelineOutput))
            {
                Directory.Delete(pipelineOutput, recursive: true);
            }
        }
    }
}
