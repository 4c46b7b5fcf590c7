using System.Diagnostics;

namespace MlPlatform.Dashboard.Components.TryIt;

/// <summary>
/// A W3C <c>traceparent</c> for one request the page sends: generated here, so the page knows the
/// trace id before the spans arrive and can link to it.
/// </summary>
public sealed record Traceparent(string TraceId, string SpanId)
{
    public static Traceparent New() => new(ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString());

    /// <summary>Version 00, sampled (flags 01), so every service records its spans.</summary>
    public string Header => $"00-{TraceId}-{SpanId}-01";
}
