namespace MlPlatform.Gateway.Kong;

/// <summary>
/// What routing decided for a request under a declarative configuration, kept for the rest of its life: the
/// configuration it was routed with (a reload never changes it halfway), the route and the path its service receives.
/// </summary>
internal sealed class KongRequestFeature(KongConfiguration configuration, KongMatch? match, bool grpc, string originalPath)
{
    public KongConfiguration Configuration { get; } = configuration;

    public KongRoute? Route { get; } = match?.Route;

    public bool Grpc { get; } = grpc;

    /// <summary>The request's path when routed: a request-transformer's <c>replace.uri</c> shows as a path that differs from it.</summary>
    public string OriginalPath { get; } = originalPath;

    /// <summary>How much of <see cref="OriginalPath"/> the route's path matched.</summary>
    public int MatchedLength { get; } = match?.MatchedLength ?? 0;

    /// <summary>
    /// The path the service receives, as Kong builds it (path_handling v0): the service's path, then the request's
    /// path, less the part the route matched when strip_path is on; a path a request-transformer replaced is sent as it is.
    /// </summary>
    public string UpstreamPath(PathString current)
    {
        var path = current.Value ?? "/";
        if (Route is null || !string.Equals(path, OriginalPath, StringComparison.Ordinal))
        {
            return path;
        }

        var rest = Route.Entity.StripPath ? path[MatchedLength..] : path;
        var servicePath = Route.Service?.Entity.Path;
        if (string.IsNullOrEmpty(servicePath) || servicePath == "/")
        {
            return rest.Length == 0 ? "/" : rest[0] == '/' ? rest : "/" + rest;
        }

        if (rest.Length == 0)
        {
            return servicePath;
        }

        return (servicePath[^1] == '/', rest[0] == '/') switch
        {
            (true, true) => servicePath + rest[1..],
            (false, false) => servicePath + "/" + rest,
            _ => servicePath + rest,
        };
    }
}
