using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Transforms;

public static class TransformExtensions
{
    /// <summary>Kong's request-transformer, from <c>Gateway:RouteGroups:{group}:Request</c>.</summary>
    public static IHostApplicationBuilder AddRequestTransforms(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RouteGroupTransformOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.GetSection(RouteGroupTransformOptions.SectionName).Bind(options.Groups))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RouteGroupTransformOptions>, ValidateRouteGroupTransformOptions>();
        return builder;
    }

    public static IApplicationBuilder UseRequestTransforms(this IApplicationBuilder app) => app.UseMiddleware<RequestTransformMiddleware>();
}
