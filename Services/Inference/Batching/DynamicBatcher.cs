using System.Diagnostics;
using System.Threading.Channels;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Execution;

namespace MlPlatform.Inference.Batching;

/// <summary>
/// The dynamic batcher of one model version, as Triton's: a batched model's requests are queued and those
/// that arrive together merged into one ONNX Runtime execution. A model with <c>max_batch_size</c> 0 runs
/// each request as it comes.
/// </summary>
internal sealed class DynamicBatcher : IAsyncDisposable
{
    private readonly ServedModel _model;
    private readonly ExecutionRecorder _recorder;
    private readonly TimeProvider _timeProvider;
    private readonly Channel<InferenceJob>? _queue;
    private readonly Task _batchLoop = Task.CompletedTask;
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _maxBatchSize;
    private readonly int _targetBatchSize;
    private readonly int[] _preferredBatchSizes;
    private readonly TimeSpan _maxQueueDelay;

    public DynamicBatcher(ServedModel model, InferenceMetrics metrics, TimeProvider timeProvider)
    {
        _model = model;
        _recorder = new ExecutionRecorder(model, metrics, timeProvider);
        _timeProvider = timeProvider;
        _maxBatchSize = Math.Max(1, model.Config.MaxBatchSize);
        if (!model.IsBatched)
        {
            _preferredBatchSizes = [];
            return;
        }

        var batching = model.Config.DynamicBatching ?? new DynamicBatchingConfig { MaxQueueDelayMicroseconds = 0 };
        _preferredBatchSizes = [.. batching.PreferredBatchSize.Order()];
        _targetBatchSize = _preferredBatchSizes.Length > 0 ? _preferredBatchSizes[^1] : _maxBatchSize;
        _maxQueueDelay = TimeSpan.FromMicroseconds(batching.MaxQueueDelayMicroseconds);
        _queue = batching.MaxQueueSize > 0
            ? Channel.CreateBounded<InferenceJob>(new BoundedChannelOptions(batching.MaxQueueSize) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait })
            : Channel.CreateUnbounded<InferenceJob>(new UnboundedChannelOptions { SingleReader = true });

        // ONNX Runtime blocks the calling thread for the whole execution; give the loop its own.
        _batchLoop = Task.Factory.StartNew(
            () => RunBatchesAsync(_stopping.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Runs a job, queued and batched when the model is.</summary>
    /// <exception cref="QueueFullException">The model's queue is full.</exception>
    public Task<InferenceResponse> SubmitAsync(InferenceJob job)
    {
        job.EnqueuedTimestamp = _timeProvider.GetTimestamp();
        if (_queue is null)
        {
            job.DequeuedTimestamp = job.EnqueuedTimestamp;
            Execute([job]);
            return job.Completion;
        }

        if (!_queue.Writer.TryWrite(job))
        {
            throw new QueueFullException($"the queue of model '{_model.Name}' is full ({_model.Config.DynamicBatching?.MaxQueueSize} requests waiting); retry later");
        }

        return job.Completion;
    }

    private async Task RunBatchesAsync(CancellationToken cancellationToken)
    {
        var reader = _queue!.Reader;
        var batch = new List<InferenceJob>(_maxBatchSize);
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!reader.TryRead(out var first))
                {
                    continue;
                }

                batch.Add(first);
                var size = first.BatchSize;
                var deadline = first.EnqueuedTimestamp;
                while (size < _targetBatchSize)
                {
                    if (reader.TryPeek(out var next))
                    {
                        if (!first.CanBatchWith(next) || size + next.BatchSize > _maxBatchSize)
                        {
                            break;
                        }

                        reader.TryRead(out _);
                        batch.Add(next);
                        size += next.BatchSize;
                        continue;
                    }

                    // Nothing waiting: a preferred size is good enough to go now; otherwise wait
                    // for company until the first job has waited its maximum delay.
                    if (Array.BinarySearch(_preferredBatchSizes, size) >= 0)
                    {
                        break;
                    }

                    var remaining = _maxQueueDelay - _timeProvider.GetElapsedTime(deadline);
                    if (remaining <= TimeSpan.Zero || !await WaitForMoreAsync(reader, remaining, cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }
                }

                var now = _timeProvider.GetTimestamp();
                foreach (var job in batch)
                {
                    job.DequeuedTimestamp = now;
                }

                Execute(batch);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        var shutdown = new OperationCanceledException("the server is shutting down");
        foreach (var job in batch)
        {
            _recorder.Fail(job, shutdown);
        }

        while (reader.TryRead(out var waiting))
        {
            _recorder.Fail(waiting, shutdown);
        }
    }

    private async Task<bool> WaitForMoreAsync(ChannelReader<InferenceJob> reader, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, _timeProvider, timeoutSource.Token);
        var more = reader.WaitToReadAsync(timeoutSource.Token).AsTask();
        var winner = await Task.WhenAny(more, delay).ConfigureAwait(false);
        await timeoutSource.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return winner == more && more.IsCompletedSuccessfully && more.Result;
    }

    private void Execute(IReadOnlyList<InferenceJob> jobs)
    {
        // The span belongs to the first request's trace and links to the others that shared the execution.
        List<ActivityLink>? links = null;
        for (var i = 1; i < jobs.Count; i++)
        {
            (links ??= new List<ActivityLink>(jobs.Count - 1)).Add(new ActivityLink(jobs[i].TraceContext));
        }

        using (var activity = InferenceMetrics.ActivitySource.StartActivity("onnxruntime.run", ActivityKind.Internal, jobs[0].TraceContext, links: links))
        {
            activity?.SetTag("mlplatform.model", _model.Name);
            activity?.SetTag("mlplatform.model.version", _model.VersionText);
            activity?.SetTag("mlplatform.batch.requests", jobs.Count);
            OnnxExecution.Run(_model, jobs, _recorder);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue?.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _batchLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
