using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace MlPlatform.ServiceDefaults;

/// <summary>
/// The <c>model</c> tag on ASP.NET Core's own <c>http.server.request.duration</c>, so requests per model, their
/// status and their duration come from the one instrument every ASP.NET Core dashboard already reads.
/// </summary>
public static class ModelMetricTag
{
    public const string Name = "model";

    /// <summary>The tag of a model the service does not know: clients cannot grow the series by inventing names.</summary>
    public const string Unknown = "unknown";

    /// <summary>Tags this request's duration with <paramref name="model"/>, which must be a model the service knows, or <see cref="Unknown"/>.</summary>
    public static void TagModel(this HttpContext context, string model) =>
        context.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new KeyValuePair<string, object?>(Name, model));
}
