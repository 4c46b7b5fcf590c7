using System.Threading.Channels;

namespace MlPlatform.Gateway.Kong;

/// <summary>
/// Applies the declarative file again whenever it changes: told by the file system at once, and every few seconds by
/// its stamp, for volumes whose changes the file system does not report (a Kubernetes ConfigMap swaps a symlink).
/// </summary>
internal sealed class KongConfigWatcher(KongConfigStore store, ILogger<KongConfigWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    // Editors write a file in several steps: the last event of a burst is the one worth reading after.
    private static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.FilePath is not { } path)
        {
            return;
        }

        var changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        using var watcher = Watch(path, () => changes.Writer.TryWrite(true));
        var stamp = Stamp(path);
        while (!stoppingToken.IsCancellationRequested)
        {
            using (var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                poll.CancelAfter(PollInterval);
                try
                {
                    await changes.Reader.ReadAsync(poll.Token).ConfigureAwait(false);
                    await Task.Delay(SettleDelay, stoppingToken).ConfigureAwait(false);
                    changes.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    var now = Stamp(path);
                    if (now == stamp)
                    {
                        continue;
                    }
                }
            }

            stamp = Stamp(path);
            // The store logs what it applied or refused; a refused file leaves the configuration served as it was.
            await store.ReloadFileAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private FileSystemWatcher? Watch(string path, Action changed)
    {
        try
        {
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!)
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            watcher.Changed += (_, _) => changed();
            watcher.Created += (_, _) => changed();
            watcher.Renamed += (_, _) => changed();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception exception) when (exception is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            KongLog.WatchFailed(logger, path, exception);
            return null;
        }
    }

    private static (DateTime, long) Stamp(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? (file.LastWriteTimeUtc, file.Length) : (DateTime.MinValue, -1);
    }
}
