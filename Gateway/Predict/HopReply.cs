using MlPlatform.Contracts.Buffers;

namespace MlPlatform.Gateway.Predict;

/// <summary>How a hop of a prediction ended.</summary>
public enum HopOutcome
{
    /// <summary>A replica answered 2xx; the body is the next hop's input.</summary>
    Success,

    /// <summary>A replica answered 4xx: the request itself is at fault, so no other replica is asked.</summary>
    Rejected,

    /// <summary>Every replica tried answered 503 (a full queue) or worse; the client may retry later.</summary>
    Overloaded,

    /// <summary>Every replica tried answered 5xx or something a hop never answers.</summary>
    Failed,

    /// <summary>No replica tried could be reached.</summary>
    Unreachable,

    /// <summary>The hop took longer than its timeout, retries included.</summary>
    TimedOut,

    /// <summary>The client went away.</summary>
    Canceled,
}

/// <summary>What one hop came back with: the winning replica's body, or why there is none. Owns the body.</summary>
internal sealed class HopReply : IDisposable
{
    private HopReply(HopOutcome outcome)
    {
        Outcome = outcome;
    }

    public HopOutcome Outcome { get; }

    public bool Succeeded => Outcome == HopOutcome.Success;

    /// <summary>The status the last replica answered, or 0 when none answered.</summary>
    public int Status { get; private init; }

    /// <summary>What went wrong, in the hop's own words when it gave some.</summary>
    public string Detail { get; private init; } = "";

    /// <summary>The hop's <c>Retry-After</c>, for <see cref="HopOutcome.Overloaded"/>.</summary>
    public string? RetryAfter { get; private init; }

    /// <summary>Replicas tried, the last included.</summary>
    public int Attempts { get; set; }

    public PooledBody? Body { get; private set; }

    public string? ContentType { get; private init; }

    /// <summary>The <c>Inference-Header-Content-Length</c> of a binary Open Inference Protocol body.</summary>
    public string? InferenceHeaderLength { get; private init; }

    /// <summary>How strongly a failure speaks for the whole hop: a replica that answered says more than one that could not be reached.</summary>
    public int Weight => Outcome switch
    {
        HopOutcome.Overloaded => 2,
        HopOutcome.Failed => 1,
        _ => 0,
    };

    public static HopReply Success(int status, PooledBody body, string? contentType, string? inferenceHeaderLength) =>
        new(HopOutcome.Success) { Status = status, Body = body, ContentType = contentType, InferenceHeaderLength = inferenceHeaderLength };

    public static HopReply Rejected(int status, string detail) => new(HopOutcome.Rejected) { Status = status, Detail = detail };

    public static HopReply Overloaded(string detail, string? retryAfter) =>
        new(HopOutcome.Overloaded) { Status = StatusCodes.Status503ServiceUnavailable, Detail = detail, RetryAfter = retryAfter };

    public static HopReply Failed(int status, string detail) => new(HopOutcome.Failed) { Status = status, Detail = detail };

    public static HopReply Unreachable(string detail) => new(HopOutcome.Unreachable) { Detail = detail };

    public static HopReply TimedOut() => new(HopOutcome.TimedOut);

    public static HopReply Canceled() => new(HopOutcome.Canceled);

    /// <summary>Hands the body over to whoever writes it; the reply no longer returns it to the pool.</summary>
    public PooledBody TakeBody()
    {
        var body = Body ?? throw new InvalidOperationException("Only a successful hop has a body.");
        Body = null;
        return body;
    }

    public void Dispose() => Body?.Dispose();
}
