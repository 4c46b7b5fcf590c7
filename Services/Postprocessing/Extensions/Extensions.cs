using MlPlatform.Contracts.Protocol;
using MlPlatform.Postprocessing.Apis;
using MlPlatform.Postprocessing.Diagnostics;
using MlPlatform.Postprocessing.Processing;

namespace MlPlatform.Postprocessing.Extensions;

public static class Extensions
{
    /// <summary>The service-discovery address of the inference service (<c>services:inference:http:0</c>), which serves model configs.</summary>
    public const string InferenceServiceAddress = "http://inference";

    public static IHostApplicationBuilder AddPostprocessingServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PostprocessingOptions>()
            .BindConfiguration(PostprocessingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHttpClient<ModelConfigClient>(client => client.BaseAddress = new Uri(InferenceServiceAddress));

        // A typed client is transient, and each instance would start with an empty config cache;
        // one instance keeps the cache for the life of the service.
        builder.Services.AddSingleton(services => new ModelConfigClient(
            services.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(ModelConfigClient)),
            services.GetRequiredService<TimeProvider>()));

        builder.Services.AddSingleton<PostprocessingMetrics>();
        builder.Services.AddSingleton<PostprocessPlans>();

        return builder;
    }
}
