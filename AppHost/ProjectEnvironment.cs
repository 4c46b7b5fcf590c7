namespace Aspire.Hosting;

public static class ProjectEnvironmentExtensions
{
    /// <summary>
    /// Runs every project in the AppHost's environment (Development for <c>dotnet run</c> and the tests): without
    /// their launch profiles nothing else tells them, and the gateway's development settings (higher limits, the
    /// try page) depend on it.
    /// </summary>
    public static IDistributedApplicationBuilder RunProjectsInAppHostEnvironment(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return builder;
        }

        var environment = builder.Environment.EnvironmentName;
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment(context =>
            {
                context.EnvironmentVariables["ASPNETCORE_ENVIRONMENT"] = environment;
                context.EnvironmentVariables["DOTNET_ENVIRONMENT"] = environment;
            });
        }

        return builder;
    }
}
