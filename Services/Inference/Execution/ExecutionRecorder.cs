using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Diagnostics;

namespace MlPlatform.Inference.Execution;

/// <summary>The moments of one execution, from <see cref="TimeProvider.GetTimestamp"/>.</summary>
internal readonly record struct ExecutionTimestamps(long Started, long InputsReady, long Inferred, long OutputsReady);

/// <summary>
/// Ends the jobs a model version's batcher accepted and records each execution and each job's outcome in the version's
/// statistics and in the meter together, from the same timestamps, so that <c>/v2/models/.../stats</c> and
/// <c>/metrics</c> count the same events.
/// </summary>
/// <remarks>
/// Everything is recorded before the job completes: its client, answered at once, may read the figures next. Only the
/// thread that runs a job ends it, so a job seen unfinished here is not ended by anyone else meanwhile.
/// </remarks>
internal sealed class ExecutionRecorder(ServedModel model, InferenceMetrics metrics, TimeProvider timeProvider)
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    private readonly long _frequency = timeProvider.TimestampFrequency;

    public long Now() => timeProvider.GetTimestamp();

    /// <summary>An execution of <paramref name="batchSize"/> items that produced every job's outputs.</summary>
    public void Executed(int batchSize, in ExecutionTimestamps times)
    {
        model.Statistics.RecordExecution(
            batchSize,
            Nanoseconds(times.InputsReady - times.Started),
            Nanoseconds(times.Inferred - times.InputsReady),
            Nanoseconds(times.OutputsReady - times.Inferred),
            timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        metrics.Executed(model.Name, batchSize, timeProvider.GetElapsedTime(times.Started, times.OutputsReady));
    }

    /// <summary>Completes a job of the execution <paramref name="times"/> describes with its outputs, which it owns from here on.</summary>
    public void Complete(InferenceJob job, InferenceResponse response, in ExecutionTimestamps times)
    {
        if (job.Completion.IsCompleted)
        {
            response.Dispose();
            return;
        }

        model.Statistics.RecordSuccess(
            job.BatchSize,
            Nanoseconds(Now() - job.EnqueuedTimestamp),
            Nanoseconds(job.DequeuedTimestamp - job.EnqueuedTimestamp),
            Nanoseconds(times.InputsReady - times.Started),
            Nanoseconds(times.Inferred - times.InputsReady),
            Nanoseconds(times.OutputsReady - times.Inferred));
        metrics.Queued(model.Name, timeProvider.GetElapsedTime(job.EnqueuedTimestamp, job.DequeuedTimestamp));
        job.Complete(response);
    }

    /// <summary>Fails a job that will get no outputs: the model failed on it, or the server is stopping.</summary>
    public void Fail(InferenceJob job, Exception exception)
    {
        if (job.Completion.IsCompleted)
        {
            return;
        }

        model.Statistics.RecordFailure(Nanoseconds(Now() - job.EnqueuedTimestamp));
        job.Fail(exception);
    }

    // Stopwatch ticks are nanoseconds on Linux; elsewhere a 128-bit product keeps a long total from overflowing.
    private long Nanoseconds(long ticks) =>
        _frequency == NanosecondsPerSecond ? ticks : (long)((Int128)ticks * NanosecondsPerSecond / _frequency);
}
