using MlPlatform.Inference.Batching;
using MlPlatform.Inference.Execution;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// One loaded version of a model, its session and its batcher, and the requests that hold it: a version that is
/// replaced or unloaded is retired, and its session is disposed only once the last request holding it is done.
/// </summary>
internal sealed class LoadedVersion(ServedModel model, DynamicBatcher batcher, string fileStamp)
{
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _holders;
    private int _retired;

    public ServedModel Model { get; } = model;

    public DynamicBatcher Batcher { get; } = batcher;

    /// <summary>The <c>model.onnx</c> it was loaded from, by size and time: a reload keeps a version whose file and config are unchanged.</summary>
    public string FileStamp { get; } = fileStamp;

    /// <summary>Holds the version for one request; false once it is retired, when the caller looks it up again.</summary>
    public bool TryAcquire()
    {
        Interlocked.Increment(ref _holders);
        if (Volatile.Read(ref _retired) == 0)
        {
            return true;
        }

        Release();
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0 && Volatile.Read(ref _retired) != 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Takes no new requests from here on, waits for those that hold it, then frees the session. Called only once
    /// the version is out of the repository's table, so no new lookup finds it.
    /// </summary>
    public async Task RetireAsync()
    {
        if (Interlocked.Exchange(ref _retired, 1) != 0)
        {
            return;
        }

        if (Volatile.Read(ref _holders) == 0)
        {
            _drained.TrySetResult();
        }

        await _drained.Task.ConfigureAwait(false);
        await Batcher.DisposeAsync().ConfigureAwait(false);
        Model.Dispose();
    }
}
