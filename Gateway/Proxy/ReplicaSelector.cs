using System.Runtime.CompilerServices;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Utilities;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// Power of two choices over a YARP cluster's available replicas, for calls the gateway makes itself:
/// two of the replicas tried least so far at random, the less busy one wins.
/// </summary>
/// <remarks>
/// <para>
/// Untried replicas come first; once every one has been tried, they all are candidates again. Behind one
/// Service address (Kubernetes, the Aspire proxy) there is a single destination with many replicas behind
/// it, so trying "another replica" can only mean sending to that address again.
/// </para>
/// <para>
/// A replica's load is YARP's count of proxied requests in flight plus this class's count of the
/// gateway's own calls. YARP's counter cannot be raised atomically from outside (its setter is for
/// tests), so the gateway's calls are counted here instead of there.
/// </para>
/// </remarks>
internal sealed class ReplicaSelector(IRandomFactory randomFactory)
{
    private readonly ConditionalWeakTable<DestinationState, StrongBox<int>> _inFlight = [];

    /// <summary>Picks a replica from <paramref name="available"/> among those tried least in <paramref name="tried"/>, or null when none is available.</summary>
    public DestinationState? Pick(IReadOnlyList<DestinationState> available, IReadOnlyList<DestinationState> tried)
    {
        var (fewest, candidates) = FewestTries(available, tried);
        if (candidates == 0)
        {
            return null;
        }

        var random = randomFactory.CreateRandomInstance();
        var firstIndex = random.Next(candidates);
        var first = NthWithTries(available, tried, fewest, firstIndex);
        if (candidates == 1)
        {
            return first;
        }

        var secondIndex = random.Next(candidates - 1);
        if (secondIndex >= firstIndex)
        {
            secondIndex++;
        }

        var second = NthWithTries(available, tried, fewest, secondIndex);
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

    /// <summary>The candidates tried least so far: the untried ones while any is left, else every candidate tried as often as the least; empty only when there are no candidates.</summary>
    public static IReadOnlyList<DestinationState> LeastTried(IReadOnlyList<DestinationState> candidates, IReadOnlyList<DestinationState> tried)
    {
        var (fewest, count) = FewestTries(candidates, tried);
        if (count == candidates.Count)
        {
            return candidates;
        }

        var least = new List<DestinationState>(count);
        foreach (var candidate in candidates)
        {
            if (TimesTried(tried, candidate) == fewest)
            {
                least.Add(candidate);
            }
        }

        return least;
    }

    /// <summary>Whether <paramref name="destination"/> is in <paramref name="tried"/>: sending to it now is a retry of the same address.</summary>
    public static bool WasTried(IReadOnlyList<DestinationState> tried, DestinationState destination) => TimesTried(tried, destination) > 0;

    /// <summary>The fewest times any of <paramref name="available"/> was tried, and how many were tried that often.</summary>
    private static (int Fewest, int Count) FewestTries(IReadOnlyList<DestinationState> available, IReadOnlyList<DestinationState> tried)
    {
        var fewest = int.MaxValue;
        var count = 0;
        foreach (var destination in available)
        {
            var times = TimesTried(tried, destination);
            if (times < fewest)
            {
                fewest = times;
                count = 1;
            }
            else if (times == fewest)
            {
                count++;
            }
        }

        return (fewest, count);
    }

    private static DestinationState NthWithTries(IReadOnlyList<DestinationState> available, IReadOnlyList<DestinationState> tried, int times, int n)
    {
        foreach (var destination in available)
        {
            if (TimesTried(tried, destination) == times && n-- == 0)
            {
                return destination;
            }
        }

        throw new InvalidOperationException("Fewer least-tried replicas than counted.");
    }

    private static int TimesTried(IReadOnlyList<DestinationState> tried, DestinationState destination)
    {
        var times = 0;
        for (var i = 0; i < tried.Count; i++)
        {
            if (ReferenceEquals(tried[i], destination))
            {
                times++;
            }
        }

        return times;
    }

    public readonly struct Lease(StrongBox<int> counter) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref counter.Value);
    }
}
