using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.RateLimiting;

public static class RateLimitingExtensions
{
    /// <summary>Kong's rate-limiting, from <c>Gateway:RateLimiting</c>, its counters here or in Redis.</summary>
    public static IHostApplicationBuilder AddRateLimiting(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RateLimitingOptions>()
            .BindConfiguration(RateLimitingOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.RedisConnectionString = configuration[RateLimitingOptions.ConnectionStringKey])
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitingOptions>, ValidateRateLimitingOptions>();

        services.AddSingleton<LocalRateLimitStore>();
        services.AddSingleton<RedisConnection>();
        services.AddHostedService(provider => provider.GetRequiredService<RedisConnection>());
        services.AddSingleton(provider => new RedisRateLimitStore(provider.GetRequiredService<RedisConnection>()));
        services.AddSingleton<RateLimiter>();
        return builder;
    }

    /// <summary>After key-auth, whose consumer it counts by.</summary>
    public static IApplicationBuilder UseRateLimiting(this IApplicationBuilder app) => app.UseMiddleware<RateLimitingMiddleware>();
}
