using Microsoft.Extensions.Options;

namespace MlPlatform.Preprocessing.Limits;

/// <summary>
/// Bounds how many requests decode and transform at once. The work is CPU-bound, so more at once
/// only adds memory: a PNG decodes whole and may take up to four bytes per allowed pixel.
/// </summary>
internal sealed class WorkLimiter(IOptions<PreprocessingOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(
        options.Value.MaxConcurrentWork > 0 ? options.Value.MaxConcurrentWork : Environment.ProcessorCount);

    public async ValueTask<Lease> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Lease(_slots);
    }

    public void Dispose() => _slots.Dispose();

    internal readonly struct Lease(SemaphoreSlim slots) : IDisposable
    {
        public void Dispose() => slots.Release();
    }
}
