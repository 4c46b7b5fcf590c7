using System.Globalization;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>The JSON API's download addresses, carrying the same filters a page shows.</summary>
public static class ExportLinks
{
    public static string Logs(string? resource, LogLevelName? minimumLevel, string? text, string? traceId) =>
        Build("/api/export/logs", ("resource", resource), ("level", minimumLevel?.ToString()), ("text", text), ("traceId", traceId));

    public static string Traces(string? resource, string? text, TimeSpan? minimumDuration) =>
        Build("/api/export/traces", ("resource", resource), ("text", text), ("minDurationMs", minimumDuration?.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)));

    private static string Build(string path, params (string Name, string? Value)[] parameters)
    {
        var query = string.Join("&", parameters
            .Where(p => !string.IsNullOrWhiteSpace(p.Value))
            .Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!.Trim())}"));
        return query.Length == 0 ? path : $"{path}?{query}";
    }
}
