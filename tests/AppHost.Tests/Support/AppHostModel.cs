namespace MlPlatform.AppHost.Tests.Support;

/// <summary>
/// The application model the AppHost's Program builds, through Aspire's testing builder, never started.
/// Only valid settings belong here: a bad one ends the process (StartupProblems), so those are tested in a child process.
/// </summary>
internal static class AppHostModel
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<IDistributedApplicationTestingBuilder> CreateBuilderAsync(params string[] args)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        return await DistributedApplicationTestingBuilder.CreateAsync<Projects.MlPlatform_AppHost>(args, timeout.Token);
    }

    public static T Resource<T>(this IDistributedApplicationTestingBuilder builder, string name)
        where T : IResource =>
        builder.Resources.OfType<T>().Single(r => r.Name == name);
}
