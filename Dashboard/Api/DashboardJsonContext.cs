using System.Text.Json;
using System.Text.Json.Serialization;
using MlPlatform.Dashboard.Resources;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Api;

/// <summary>
/// Source-generated serialization for every JSON API answer: camelCase, enums as their names.
/// Named float literals are allowed so a stray NaN can never turn an answer into a 500.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(IReadOnlyList<ResourceSnapshot>))]
[JsonSerializable(typeof(IReadOnlyList<TelemetryResource>))]
[JsonSerializable(typeof(IReadOnlyList<LogEntry>))]
[JsonSerializable(typeof(IReadOnlyList<TraceSummary>))]
[JsonSerializable(typeof(TraceDetail))]
[JsonSerializable(typeof(IReadOnlyList<TraceDetail>))]
[JsonSerializable(typeof(IReadOnlyList<InstrumentSummary>))]
[JsonSerializable(typeof(MetricChart))]
[JsonSerializable(typeof(TelemetryCounts))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
