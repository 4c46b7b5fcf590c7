using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Preprocessing.Diagnostics;
using MlPlatform.Preprocessing.Imaging;
using MlPlatform.Preprocessing.Limits;

namespace MlPlatform.Preprocessing.Extensions;

public static class Extensions
{
    /// <summary>The service-discovery address of the inference service, which serves model configs.</summary>
    public const string InferenceServiceAddress = "http://inference";

    public static IHostApplicationBuilder AddPreprocessingServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PreprocessingOptions>()
            .BindConfiguration(PreprocessingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<PreprocessingOptions>>((kestrel, preprocessing) =>
                // Our own reader answers 413 as problem details; Kestrel's limit only backs it up.
                kestrel.Limits.MaxRequestBodySize = preprocessing.Value.MaxRequestBodyBytes + 1);

        builder.Services.AddSingleton(TimeProvider.System);

        // A typed client is transient, and ModelConfigClient caches configs in its instance; one
        // instance for the process keeps the cache. Its HttpClient still gets discovery and resilience,
        // and the factory's SocketsHttpHandler recycles connections on its own.
        builder.Services.AddHttpClient<ModelConfigClient>(client => client.BaseAddress = new Uri(InferenceServiceAddress));
        builder.Services.AddSingleton(services => new ModelConfigClient(
            services.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(ModelConfigClient)),
            services.GetRequiredService<TimeProvider>()));

        builder.Services.AddSingleton<PreprocessingMetrics>();
        builder.Services.AddSingleton<PreprocessPipelines>();
        builder.Services.AddSingleton<WorkLimiter>();

        return builder;
    }
}
