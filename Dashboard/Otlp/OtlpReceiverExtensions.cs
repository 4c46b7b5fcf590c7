using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace MlPlatform.Dashboard.Otlp;

internal static class OtlpReceiverExtensions
{
    public static IServiceCollection AddOtlpReceiver(this IServiceCollection services, string apiKey)
    {
        services.AddSingleton(new OtlpApiKey(apiKey));
        services.AddSingleton<OtlpRejections>();
        services.AddGrpc();
        // The cap on gRPC messages, answered with RESOURCE_EXHAUSTED; Kestrel's MaxRequestBodySize is
        // raised per call (OtlpApiKeyMiddleware) so that this check, not Kestrel's, is the one that answers.
        services.AddOptions<GrpcServiceOptions>().Configure<DashboardOptions>((grpc, dashboard) =>
        {
            grpc.MaxReceiveMessageSize = dashboard.Limits.MaxExportBytes;
            grpc.EnableDetailedErrors = false;
        });
        return services;
    }

    public static WebApplication MapOtlpReceiver(this WebApplication app)
    {
        app.UseMiddleware<OtlpApiKeyMiddleware>();
        app.MapGrpcService<OtlpTraceService>();
        app.MapGrpcService<OtlpLogsService>();
        app.MapGrpcService<OtlpMetricsService>();
        app.MapOtlpHttp();
        return app;
    }
}
