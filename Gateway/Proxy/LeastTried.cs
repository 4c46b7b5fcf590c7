using Yarp.ReverseProxy.Model;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// The retry rule of proxied requests and predict hops alike: the replicas tried least so far are the candidates,
/// the untried ones while any is left, then every one again. Behind one Service address (Kubernetes, the Aspire
/// proxy) there is a single destination with many replicas behind it, so trying "another replica" can only mean
/// sending to that address again.
/// </summary>
internal static class LeastTried
{
    /// <summary>The candidates tried least in <paramref name="tried"/>: all of them before any failure; empty only when there are no candidates.</summary>
    public static IReadOnlyList<DestinationState> Of(IReadOnlyList<DestinationState> candidates, List<DestinationState>? tried)
    {
        if (tried is null)
        {
            return candidates;
        }

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
    public static bool WasTried(List<DestinationState>? tried, DestinationState destination) => tried is not null && TimesTried(tried, destination) > 0;

    /// <summary>The fewest times any of <paramref name="candidates"/> was tried, and how many were tried that often.</summary>
    private static (int Fewest, int Count) FewestTries(IReadOnlyList<DestinationState> candidates, List<DestinationState> tried)
    {
        var fewest = int.MaxValue;
        var count = 0;
        foreach (var destination in candidates)
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

    private static int TimesTried(List<DestinationState> tried, DestinationState destination)
    {
        var times = 0;
        foreach (var previous in tried)
        {
            if (ReferenceEquals(previous, destination))
            {
                times++;
            }
        }

        return times;
    }
}
