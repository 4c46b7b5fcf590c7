using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Cors;

public static class CorsExtensions
{
    /// <summary>ASP.NET Core's CORS with one default policy, from <c>Gateway:Cors</c>.</summary>
    public static IHostApplicationBuilder AddGatewayCors(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayCorsOptions>().BindConfiguration(GatewayCorsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<GatewayCorsOptions>>((options, gateway) => options.AddDefaultPolicy(policy =>
        {
            var cors = gateway.Value;
            if (cors.AllowedOrigins.Count == 0)
            {
                return;
            }

            _ = cors.AllowedOrigins.Contains("*") ? policy.AllowAnyOrigin() : policy.WithOrigins([.. cors.AllowedOrigins]);
            _ = cors.AllowedMethods.Count == 0 ? policy.AllowAnyMethod() : policy.WithMethods([.. cors.AllowedMethods]);
            _ = cors.AllowedHeaders.Count == 0 ? policy.AllowAnyHeader() : policy.WithHeaders([.. cors.AllowedHeaders]);
            policy.WithExposedHeaders([.. cors.ExposedHeaders]).SetPreflightMaxAge(cors.PreflightMaxAge);
            if (cors.AllowCredentials)
            {
                policy.AllowCredentials();
            }
        }));

        return builder;
    }

    /// <summary>The CORS middleware, only when some origin is allowed: without one, a preflight is routed like any request.</summary>
    public static IApplicationBuilder UseGatewayCors(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<IOptions<GatewayCorsOptions>>().Value.AllowedOrigins.Count > 0 ? app.UseCors() : app;
}
