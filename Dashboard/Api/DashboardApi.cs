using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using MlPlatform.Dashboard.Resources;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Api;

/// <summary>
/// The dashboard's JSON API under <c>/api/</c>, on the UI host, so every endpoint needs the login
/// cookie like the pages do. Bad parameters are 400 problems naming the parameter, unknown
/// resources, traces and instruments 404 problems naming them.
/// </summary>
internal static class DashboardApi
{
    public const int MaxLimit = 10_000;
    public const int DefaultChartWindowSeconds = 300;
    public const int MaxChartWindowSeconds = 86_400;

    private static DashboardJsonContext Json => DashboardJsonContext.Default;

    public static WebApplication MapDashboardApi(this WebApplication app)
    {
        var api = app.MapGroup("/api");

        api.MapGet("/resources", (IResourceSource resources) =>
            TypedResults.Json(resources.GetResources(), Json.IReadOnlyListResourceSnapshot));

        api.MapGet("/telemetry/resources", (ITelemetryQueries telemetry) =>
            TypedResults.Json(telemetry.GetResources(), Json.IReadOnlyListTelemetryResource));

        api.MapGet("/logs", Results<JsonHttpResult<IReadOnlyList<LogEntry>>, ProblemHttpResult> (
            string? resource, string? level, string? text, string? traceId, string? limit, ITelemetryQueries telemetry, IResourceSource resources) =>
            ReadLogQuery(resource, level, text, traceId, limit, LogQueryDefaults.Limit, telemetry, resources) is var (query, problem) && problem is not null
                ? problem
                : TypedResults.Json(telemetry.QueryLogs(query!), Json.IReadOnlyListLogEntry));

        api.MapGet("/traces", Results<JsonHttpResult<IReadOnlyList<TraceSummary>>, ProblemHttpResult> (
            string? resource, string? text, string? minDurationMs, string? limit, ITelemetryQueries telemetry, IResourceSource resources) =>
            ReadTraceQuery(resource, text, minDurationMs, limit, TraceQueryDefaults.Limit, telemetry, resources) is var (query, problem) && problem is not null
                ? problem
                : TypedResults.Json(telemetry.QueryTraces(query!), Json.IReadOnlyListTraceSummary));

        api.MapGet("/traces/{traceId}", Results<JsonHttpResult<TraceDetail>, ProblemHttpResult> (string traceId, ITelemetryQueries telemetry) =>
        {
            if (!IsTraceId(traceId))
            {
                return BadParameter("traceId", $"'{Shorten(traceId)}' is not a trace id; a trace id is 32 hex digits.");
            }

            return telemetry.GetTrace(traceId) is { } trace
                ? TypedResults.Json(trace, Json.TraceDetail)
                : NotFound("Trace not found", $"No trace {traceId.ToLowerInvariant()} is held; it may not have arrived yet, or its spans were dropped to stay within the span limit.");
        });

        api.MapGet("/metrics/instruments", Results<JsonHttpResult<IReadOnlyList<InstrumentSummary>>, ProblemHttpResult> (
            string? resource, ITelemetryQueries telemetry, IResourceSource resources) =>
            ResolveResource(resource, telemetry, resources) is var (filter, problem) && problem is not null
                ? problem
                : TypedResults.Json(telemetry.GetInstruments(filter), Json.IReadOnlyListInstrumentSummary));

        api.MapGet("/metrics/chart", Results<JsonHttpResult<MetricChart>, ProblemHttpResult> (
            string? resource, string? meter, string? instrument, string? windowSeconds, ITelemetryQueries telemetry, IResourceSource resources) =>
        {
            if (string.IsNullOrEmpty(resource))
            {
                return BadParameter("resource", "Name the service or instance whose instrument to chart.");
            }

            if (meter is null)
            {
                return BadParameter("meter", "Name the meter of the instrument (as /api/metrics/instruments lists it).");
            }

            if (string.IsNullOrEmpty(instrument))
            {
                return BadParameter("instrument", "Name the instrument to chart (as /api/metrics/instruments lists it).");
            }

            var window = DefaultChartWindowSeconds;
            if (windowSeconds is not null && !TryParseInt(windowSeconds, 1, MaxChartWindowSeconds, out window))
            {
                return BadParameter("windowSeconds", $"'{Shorten(windowSeconds)}' is not a whole number of seconds from 1 to {MaxChartWindowSeconds}.");
            }

            var (filter, problem) = ResolveResource(resource, telemetry, resources);
            if (problem is not null)
            {
                return problem;
            }

            return telemetry.GetChart(filter!, meter, instrument, TimeSpan.FromSeconds(window)) is { } chart
                ? TypedResults.Json(chart, Json.MetricChart)
                : NotFound("Instrument not found", $"'{resource}' has not reported instrument '{Shorten(instrument)}' of meter '{Shorten(meter)}'.");
        });

        api.MapGet("/counts", (ITelemetryQueries telemetry) => TypedResults.Json(telemetry.GetCounts(), Json.TelemetryCounts));

        api.MapGet("/export/traces", Results<JsonHttpResult<IReadOnlyList<TraceDetail>>, ProblemHttpResult> (
            string? resource, string? text, string? minDurationMs, string? limit, HttpContext context, ITelemetryQueries telemetry, IResourceSource resources) =>
        {
            var (query, problem) = ReadTraceQuery(resource, text, minDurationMs, limit, MaxLimit, telemetry, resources);
            if (problem is not null)
            {
                return problem;
            }

            var details = new List<TraceDetail>();
            foreach (var summary in telemetry.QueryTraces(query!))
            {
                // A trace can lose its last span between the two calls; it is then left out.
                if (telemetry.GetTrace(summary.TraceId) is { } detail)
                {
                    details.Add(detail);
                }
            }

            SetAttachment(context, "traces");
            return TypedResults.Json<IReadOnlyList<TraceDetail>>(details, Json.IReadOnlyListTraceDetail);
        });

        api.MapGet("/export/logs", Results<JsonHttpResult<IReadOnlyList<LogEntry>>, ProblemHttpResult> (
            string? resource, string? level, string? text, string? traceId, string? limit, HttpContext context, ITelemetryQueries telemetry, IResourceSource resources) =>
        {
            var (query, problem) = ReadLogQuery(resource, level, text, traceId, limit, MaxLimit, telemetry, resources);
            if (problem is not null)
            {
                return problem;
            }

            SetAttachment(context, "logs");
            return TypedResults.Json(telemetry.QueryLogs(query!), Json.IReadOnlyListLogEntry);
        });

        return app;
    }

    private static class LogQueryDefaults
    {
        public static readonly int Limit = new LogQuery().Limit;
    }

    private static class TraceQueryDefaults
    {
        public static readonly int Limit = new TraceQuery().Limit;
    }

    private static (LogQuery? Query, ProblemHttpResult? Problem) ReadLogQuery(
        string? resource, string? level, string? text, string? traceId, string? limit, int defaultLimit, ITelemetryQueries telemetry, IResourceSource resources)
    {
        LogLevelName? minimum = null;
        if (!string.IsNullOrEmpty(level))
        {
            if (!TryParseLevel(level, out var parsed))
            {
                return (null, BadParameter("level", $"'{Shorten(level)}' is not a log level; use one of {string.Join(", ", Enum.GetNames<LogLevelName>())}."));
            }

            minimum = parsed;
        }

        if (!string.IsNullOrEmpty(traceId) && !IsTraceId(traceId))
        {
            return (null, BadParameter("traceId", $"'{Shorten(traceId)}' is not a trace id; a trace id is 32 hex digits."));
        }

        var count = defaultLimit;
        if (limit is not null && !TryParseInt(limit, 1, MaxLimit, out count))
        {
            return (null, BadParameter("limit", $"'{Shorten(limit)}' is not a whole number from 1 to {MaxLimit}."));
        }

        var (filter, problem) = ResolveResource(resource, telemetry, resources);
        if (problem is not null)
        {
            return (null, problem);
        }

        return (new LogQuery(filter, minimum, NullIfEmpty(text), NullIfEmpty(traceId)?.ToLowerInvariant(), count), null);
    }

    private static (TraceQuery? Query, ProblemHttpResult? Problem) ReadTraceQuery(
        string? resource, string? text, string? minDurationMs, string? limit, int defaultLimit, ITelemetryQueries telemetry, IResourceSource resources)
    {
        TimeSpan? minimum = null;
        if (!string.IsNullOrEmpty(minDurationMs))
        {
            // Up to a year: anything longer is a typo, and TimeSpan must not overflow.
            const double maxMilliseconds = 365d * 24 * 3600 * 1000;
            if (!double.TryParse(minDurationMs, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
                || !double.IsFinite(milliseconds) || milliseconds < 0 || milliseconds > maxMilliseconds)
            {
                return (null, BadParameter("minDurationMs", $"'{Shorten(minDurationMs)}' is not a number of milliseconds from 0 to {maxMilliseconds:0}."));
            }

            minimum = TimeSpan.FromMilliseconds(milliseconds);
        }

        var count = defaultLimit;
        if (limit is not null && !TryParseInt(limit, 1, MaxLimit, out count))
        {
            return (null, BadParameter("limit", $"'{Shorten(limit)}' is not a whole number from 1 to {MaxLimit}."));
        }

        var (filter, problem) = ResolveResource(resource, telemetry, resources);
        if (problem is not null)
        {
            return (null, problem);
        }

        return (new TraceQuery(filter, NullIfEmpty(text), minimum, count), null);
    }

    /// <summary>
    /// A resource in a URL may be a service name or instance id that sent telemetry, or the name of
    /// a resource of the application (such as "inference-1"), which is translated to its instance
    /// id; a resource that has not sent anything yet is valid and simply matches nothing.
    /// </summary>
    private static (string? Filter, ProblemHttpResult? Problem) ResolveResource(string? resource, ITelemetryQueries telemetry, IResourceSource resources)
    {
        if (string.IsNullOrEmpty(resource))
        {
            return (null, null);
        }

        foreach (var known in telemetry.GetResources())
        {
            if (string.Equals(known.ServiceName, resource, StringComparison.OrdinalIgnoreCase)
                || string.Equals(known.InstanceId, resource, StringComparison.OrdinalIgnoreCase))
            {
                return (resource, null);
            }
        }

        foreach (var snapshot in resources.GetResources())
        {
            if (string.Equals(snapshot.Name, resource, StringComparison.OrdinalIgnoreCase))
            {
                return (snapshot.InstanceId ?? snapshot.Service, null);
            }

            if (string.Equals(snapshot.Service, resource, StringComparison.OrdinalIgnoreCase)
                || string.Equals(snapshot.InstanceId, resource, StringComparison.OrdinalIgnoreCase))
            {
                return (resource, null);
            }
        }

        return (null, NotFound("Resource not found", $"No resource, service or instance is named '{Shorten(resource)}'; /api/resources and /api/telemetry/resources list them."));
    }

    private static bool TryParseLevel(string text, out LogLevelName level)
    {
        // Names only: Enum.TryParse would also take "7" or "99".
        foreach (var candidate in Enum.GetValues<LogLevelName>())
        {
            if (string.Equals(candidate.ToString(), text, StringComparison.OrdinalIgnoreCase))
            {
                level = candidate;
                return true;
            }
        }

        level = default;
        return false;
    }

    private static bool TryParseInt(string text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    private static bool IsTraceId(string text) => text.Length == TraceKey.HexLength && TraceKey.IsHex(text);

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    /// <summary>Echoes at most 100 characters of a parameter back: enough to recognise it, never a page of junk.</summary>
    private static string Shorten(string text) => text.Length <= 100 ? text : string.Concat(text.AsSpan(0, 100), "…");

    private static void SetAttachment(HttpContext context, string what)
    {
        var stamp = context.RequestServices.GetService(typeof(TimeProvider)) is TimeProvider time ? time.GetUtcNow() : DateTimeOffset.UtcNow;
        var disposition = new ContentDispositionHeaderValue("attachment")
        {
            FileName = $"{what}-{stamp.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.json",
        };
        context.Response.Headers.ContentDisposition = disposition.ToString();
    }

    private static ProblemHttpResult BadParameter(string parameter, string detail) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: $"Invalid parameter '{parameter}'",
            detail: detail,
            extensions: new Dictionary<string, object?> { ["parameter"] = parameter });

    private static ProblemHttpResult NotFound(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: title, detail: detail);
}
