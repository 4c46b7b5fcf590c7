using Microsoft.AspNetCore.Components;

namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>
/// A page whose data changes underneath it. It re-reads on a timer instead of on every change:
/// exports and console lines arrive many times a second, and a render for each would swamp the
/// circuit. The timer starts only once the page is interactive, so prerendering costs nothing.
/// </summary>
public abstract class LiveComponentBase : ComponentBase, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    protected virtual TimeSpan RefreshInterval => TimeSpan.FromSeconds(1);

    /// <summary>Stopped when the page goes away; for work a tick starts.</summary>
    protected CancellationToken Stopping { get; }

    protected LiveComponentBase()
    {
        Stopping = _stopping.Token;
    }

    /// <summary>Re-reads what the page shows; true when it should render again.</summary>
    protected abstract bool OnTick();

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _ = TickAsync();
        }
    }

    private async Task TickAsync()
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(Stopping).ConfigureAwait(false))
            {
                await InvokeAsync(() =>
                {
                    if (!Stopping.IsCancellationRequested && OnTick())
                    {
                        StateHasChanged();
                    }
                }).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception exception)
        {
            // Nobody awaits this loop: hand the failure to the circuit, as an event handler's would be.
            await DispatchExceptionAsync(exception).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
