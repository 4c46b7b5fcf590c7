using System.Runtime.CompilerServices;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Utilities;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// Power of two choices over a YARP cluster's available replicas, for calls the gateway makes itself:
/// two untried replicas at random, the less busy one wins.
/// </summary>
/// <remarks>
/// A replica's load is YARP's count of proxied requests in flight plus this class's count of the
/// gateway's own calls. YARP's counter cannot be raised atomically from outside (its setter is for
/// tests), so the gateway's calls are counted here instead of there.
/// </remarks>
internal sealed class ReplicaSelector(IRandomFactory randomFactory)
{
    private readonly ConditionalWeakTable<DestinationState, StrongBox<int>> _inFlight = [];

    /// <summary>Picks a replica from <paramref name="available"/> that is not in <paramref name="tried"/>, or null when none is left.</summary>
    public DestinationState? Pick(IReadOnlyList<DestinationState> available, IReadOnlyList<DestinationState> tried)
    {
        var untried = 0;
        foreach (var destination in available)
        {
            if (!Contains(tried, destination))
            {
                untried++;
            }
        }

        if (untried == 0)
        {
            return null;
        }

        var random = randomFactory.CreateRandomInstance();
        var firstIndex = random.Next(untried);
        var first = NthUntried(available, tried, firstIndex);
        if (untried == 1)
        {
            return first;
        }

        var secondIndex = random.Next(untried - 1);
        if (secondIndex >= firstIndex)
        {
            secondIndex++;
        }

        var second = NthUntried(available, tried, secondIndex);
        return Load(first) <= Load(second) ? first : second;
    }

    /// <summary>Counts a call to <paramref name="destination"/> as in flight until the lease is disposed.</summary>
    public Lease Start(DestinationState destination)
    {
        var counter = _inFlight.GetValue(destination, static _ => new StrongBox<int>());
        Interlocked.Increment(ref counter.Value);
        return new Lease(counter);
    }

    public int Load(DestinationState destination) =>
        destination.ConcurrentRequestCount + (_inFlight.TryGetValue(destination, out var counter) ? Volatile.Read(ref counter.Value) : 0);

    /// <summary>The candidates not tried yet, or null when that is all of them.</summary>
    public static IReadOnlyList<DestinationState>? Untried(IReadOnlyList<DestinationState> candidates, IReadOnlyList<DestinationState> tried)
    {
        List<DestinationState>? remaining = null;
        foreach (var candidate in candidates)
        {
            if (!Contains(tried, candidate))
            {
                (remaining ??= new List<DestinationState>(candidates.Count)).Add(candidate);
            }
        }

        return remaining;
    }

    private static DestinationState NthUntried(IReadOnlyList<DestinationState> available, IReadOnlyList<DestinationState> tried, int n)
    {
        foreach (var destination in available)
        {
            if (!Contains(tried, destination) && n-- == 0)
            {
                return destination;
            }
        }

        throw new InvalidOperationException("Fewer untried replicas than counted.");
    }

    private static bool Contains(IReadOnlyList<DestinationState> tried, DestinationState destination)
    {
        for (var i = 0; i < tried.Count; i++)
        {
            if (ReferenceEquals(tried[i], destination))
            {
                return true;
            }
        }

        return false;
    }

    public readonly struct Lease(StrongBox<int> counter) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref counter.Value);
    }
}
