namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// Recognizes a forwarded path that would land on a service's own <c>/health</c>, <c>/alive</c> or
/// <c>/metrics</c>, or on inference's model control (<c>/v2/repository/models/{name}/load</c> and <c>/unload</c>, and
/// the gRPC <c>RepositoryModelLoad</c> and <c>RepositoryModelUnload</c>),
/// however it is spelled: any case, trailing slash, extra segments, percent-encoded (even twice), backslashes,
/// empty or dot segments. Those endpoints are for probes, scrapers and operators inside the cluster and must never
/// be reachable through the gateway: an API key to predict is not a right to unload the model.
/// </summary>
public static class InfrastructurePaths
{
    private static readonly string[] Blocked =
    [
        Microsoft.Extensions.Hosting.Extensions.HealthEndpointPath[1..],
        Microsoft.Extensions.Hosting.Extensions.AlivenessEndpointPath[1..],
        Microsoft.Extensions.Hosting.Extensions.MetricsEndpointPath[1..],
    ];

    private static readonly string[] ModelControl = ["v2", "repository", "models"];

    private static readonly string[] GrpcModelControl = ["RepositoryModelLoad", "RepositoryModelUnload"];

    // Decoding stops when nothing changes; a few rounds undo any encoding a client would bother with,
    // and a path still changing after that is refused rather than trusted.
    private const int MaxDecodingRounds = 4;

    /// <summary>Whether a service receiving <paramref name="forwardedPath"/> could route it to an infrastructure endpoint.</summary>
    public static bool Reaches(string forwardedPath)
    {
        var path = forwardedPath;
        for (var round = 0; ; round++)
        {
            var decoded = Uri.UnescapeDataString(path);
            if (decoded == path)
            {
                break;
            }

            if (round == MaxDecodingRounds)
            {
                return true;
            }

            path = decoded;
        }

        var segments = Segments(path.Replace('\\', '/'));
        return segments.Count > 0
            && (Array.Exists(Blocked, blocked => segments[0].Equals(blocked, StringComparison.OrdinalIgnoreCase))
                || StartsWith(segments, ModelControl)
                || (segments.Count > 1 && segments[0].Equals(Grpc.GrpcRoute.Service, StringComparison.OrdinalIgnoreCase)
                    && Array.Exists(GrpcModelControl, method => segments[1].Equals(method, StringComparison.OrdinalIgnoreCase))));
    }

    private static bool StartsWith(List<string> segments, string[] prefix)
    {
        if (segments.Count < prefix.Length)
        {
            return false;
        }

        for (var i = 0; i < prefix.Length; i++)
        {
            if (!segments[i].Equals(prefix[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The segments once empty and dot segments are resolved, as a server normalizing the path would see them.</summary>
    private static List<string> Segments(string path)
    {
        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            switch (segment)
            {
                case "" or ".":
                    break;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    break;
                default:
                    segments.Add(segment.Trim());
                    break;
            }
        }

        return segments;
    }
}
