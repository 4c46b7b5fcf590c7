using System.Runtime.CompilerServices;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Utilities;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// YARP's power of two choices with the predict hops counted in: of two replicas at random, the one with fewer
/// requests in flight, YARP's proxied ones and the hop invoker's together. Every cluster names it, so proxied
/// routes (through YARP's load balancing middleware) and predict hops (through the hop invoker) choose alike.
/// </summary>
/// <remarks>
/// The hops do not go through YARP's forwarder, whose count alone would show a replica busy with predictions as
/// idle; that count cannot be raised atomically from outside (its setter is for tests), so hops are counted here.
/// </remarks>
internal sealed class HopAwareLoadBalancingPolicy(IRandomFactory randomFactory) : ILoadBalancingPolicy
{
    public const string PolicyName = "HopAwarePowerOfTwoChoices";

    private readonly ConditionalWeakTable<DestinationState, StrongBox<int>> _hopsInFlight = [];

    public string Name => PolicyName;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        var count = availableDestinations.Count;
        if (count <= 1)
        {
            return count == 0 ? null : availableDestinations[0];
        }

        var random = randomFactory.CreateRandomInstance();
        var firstIndex = random.Next(count);
        var secondIndex = random.Next(count - 1);
        if (secondIndex >= firstIndex)
        {
            secondIndex++;
        }

        var first = availableDestinations[firstIndex];
        var second = availableDestinations[secondIndex];
        return Load(first) <= Load(second) ? first : second;
    }

    /// <summary>Counts a hop to <paramref name="destination"/> as in flight until the lease is disposed.</summary>
    public HopLease StartHop(DestinationState destination)
    {
        var counter = _hopsInFlight.GetValue(destination, static _ => new StrongBox<int>());
        Interlocked.Increment(ref counter.Value);
        return new HopLease(counter);
    }

    private int Load(DestinationState destination) =>
        destination.ConcurrentRequestCount + (_hopsInFlight.TryGetValue(destination, out var counter) ? Volatile.Read(ref counter.Value) : 0);

    public readonly struct HopLease(StrongBox<int> counter) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref counter.Value);
    }
}
