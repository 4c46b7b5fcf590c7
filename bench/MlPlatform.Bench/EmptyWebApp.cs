using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace MlPlatform.Bench;

/// <summary>
/// The smallest ASP.NET Core service, run as a process of its own when the benchmark starts itself with
/// <see cref="RoleVariable"/> set: the reference that the services' idle memory is measured against.
/// </summary>
internal static class EmptyWebApp
{
    public const string RoleVariable = "MLPLATFORM_BENCH_ROLE";
    public const string Role = "empty-web-app";

    public static async Task RunAsync(string[] args)
    {
        var app = WebApplication.CreateSlimBuilder(args).Build();
        app.MapGet("/health", () => TypedResults.Text("Healthy"));
        await app.RunAsync();
    }
}
