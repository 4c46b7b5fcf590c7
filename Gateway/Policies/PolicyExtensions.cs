using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Timeouts;

namespace MlPlatform.Gateway.Policies;

public static class PolicyExtensions
{
    /// <summary>API keys, rate limits, request transformation, timeouts and CORS, all from configuration.</summary>
    public static IHostApplicationBuilder AddGatewayPolicies(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<KeyAuthOptions>().BindConfiguration(KeyAuthOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyAuthOptions>, ValidateKeyAuthOptions>();

        services.AddOptions<RateLimitingOptions>()
            .BindConfiguration(RateLimitingOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.RedisConnectionString = configuration[RateLimitingOptions.ConnectionStringKey])
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitingOptions>, ValidateRateLimitingOptions>();

        services.AddOptions<RouteGroupPolicyOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.GetSection(RouteGroupPolicyOptions.SectionName).Bind(options.Groups))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RouteGroupPolicyOptions>, ValidateRouteGroupPolicyOptions>();
        builder.AddRouteGroupTimeouts();

        services.AddOptions<GatewayCorsOptions>().BindConfiguration(GatewayCorsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<KeyAuthenticator>();
        services.AddSingleton<LocalRateLimitStore>();
        services.AddSingleton<RedisConnection>();
        services.AddHostedService(provider => provider.GetRequiredService<RedisConnection>());
        services.AddSingleton<RedisRateLimitStore>();
        services.AddSingleton<RateLimiter>();

        var cors = builder.Configuration.GetSection(GatewayCorsOptions.SectionName).Get<GatewayCorsOptions>() ?? new GatewayCorsOptions();
        services.AddCors(options => options.AddDefaultPolicy(policy =>
        {
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

    /// <summary>
    /// CORS first, so a preflight is answered without a key; then the per route group policy; the route group's
    /// request timeout last, so it covers forwarding and not the policy's own work.
    /// </summary>
    public static IApplicationBuilder UseGatewayPolicies(this IApplicationBuilder app)
    {
        if (app.ApplicationServices.GetRequiredService<IOptions<GatewayCorsOptions>>().Value.AllowedOrigins.Count > 0)
        {
            app.UseCors();
        }

        app.UseMiddleware<GatewayPolicyMiddleware>();
        return app.UseRequestTimeouts();
    }
}
