using System.Text.RegularExpressions;

namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// A Kong declarative configuration (<c>_format_version: "3.0"</c>) as read by <see cref="DeclarativeParser"/>:
/// every entity flattened to the top level, as Kong flattens it, with nested ones pointing at their parent.
/// Defaults are Kong's, filled in, so a consumer of the model never has to know them.
/// </summary>
public sealed record DeclarativeConfig(
    IReadOnlyList<ServiceEntity> Services,
    IReadOnlyList<RouteEntity> Routes,
    IReadOnlyList<ConsumerEntity> Consumers,
    IReadOnlyList<PluginEntity> Plugins);

/// <summary>
/// A Kong Service. <see cref="Key"/> identifies it for references and plugin scopes: its name, else its id,
/// else its place in the file (Kong generates an id there; nothing can name such a service, but its nested
/// routes and plugins still belong to it).
/// </summary>
public sealed record ServiceEntity(
    string Key,
    string? Name,
    string Protocol,
    string Host,
    int Port,
    string? Path,
    int Retries,
    int ConnectTimeoutMs,
    int WriteTimeoutMs,
    int ReadTimeoutMs,
    bool Enabled,
    IReadOnlyList<string> Tags);

/// <summary>A Kong Route; <see cref="ServiceKey"/> is the <see cref="ServiceEntity.Key"/> it forwards to, when it has one.</summary>
public sealed record RouteEntity(
    string Key,
    string? Name,
    string? ServiceKey,
    IReadOnlyList<string> Protocols,
    IReadOnlyList<string> Methods,
    IReadOnlyList<string> Hosts,
    IReadOnlyList<RoutePath> Paths,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Headers,
    bool StripPath,
    bool PreserveHost,
    int RegexPriority,
    string PathHandling,
    int HttpsRedirectStatusCode,
    bool RequestBuffering,
    bool ResponseBuffering,
    IReadOnlyList<string> Tags);

/// <summary>
/// One of a route's paths: a prefix, or (written <c>~/...</c>) a regular expression matched from the path's start,
/// compiled once here so a pattern that does not compile is a configuration problem, never a request's.
/// </summary>
public sealed record RoutePath(string Value, Regex? Pattern)
{
    public bool IsRegex => Pattern is not null;
}

/// <summary>A Kong Consumer. <see cref="Key"/> is its username, else its custom_id, else its id.</summary>
public sealed record ConsumerEntity(
    string Key,
    string? Username,
    string? CustomId,
    IReadOnlyList<KeyAuthCredential> KeyAuthCredentials,
    IReadOnlyList<string> Tags);

/// <summary>
/// A key-auth credential, as the SHA-256 of its key (lowercase hex, as <c>Gateway:KeyAuth:Consumers:{id}:KeyHashes</c>
/// holds it): the key itself is never kept, whether the file gave it in clear or as <c>sha256:&lt;hex&gt;</c>.
/// </summary>
public sealed record KeyAuthCredential(string KeyHash, IReadOnlyList<string> Tags);

/// <summary>
/// A plugin instance with its scope: the keys of the service, route and consumer it is bound to, each null when
/// unbound (a plugin with none is global). Nested plugins are bound to the entity they are nested in.
/// </summary>
public sealed record PluginEntity(
    string Name,
    string? InstanceName,
    string? ServiceKey,
    string? RouteKey,
    string? ConsumerKey,
    bool Enabled,
    IReadOnlyList<string> Protocols,
    PluginConfig Config,
    IReadOnlyList<string> Tags);

/// <summary>The <c>config</c> of a plugin; one record per plugin the gateway runs.</summary>
public abstract record PluginConfig;

/// <summary>Kong's key-auth (kong/plugins/key-auth/schema.lua), defaults included.</summary>
public sealed record KeyAuthConfig(
    IReadOnlyList<string> KeyNames,
    bool HideCredentials,
    string? Anonymous,
    bool KeyInHeader,
    bool KeyInQuery,
    bool KeyInBody,
    bool RunOnPreflight,
    string? Realm) : PluginConfig;

/// <summary>
/// Kong's rate-limiting (kong/plugins/rate-limiting/schema.lua). Limits are Kong's <c>number</c>s, so they may have
/// fractions; policy <c>cluster</c> is refused, as Kong refuses it without a database.
/// </summary>
public sealed record RateLimitingConfig(
    double? Second,
    double? Minute,
    double? Hour,
    double? Day,
    double? Month,
    double? Year,
    string LimitBy,
    string? HeaderName,
    string? Path,
    string Policy,
    bool FaultTolerant,
    RedisConfig Redis,
    bool HideClientHeaders,
    double ErrorCode,
    string ErrorMessage,
    double SyncRate) : PluginConfig;

/// <summary>Kong's shared Redis record (kong/tools/redis/schema.lua).</summary>
public sealed record RedisConfig(
    string? Host,
    int Port,
    int TimeoutMs,
    string? Username,
    string? Password,
    int Database,
    bool Ssl,
    bool SslVerify,
    string? ServerName)
{
    /// <summary>Never the password: a configuration printed or logged must not give it away.</summary>
    public override string ToString() =>
        $"RedisConfig {{ Host = {Host}, Port = {Port}, TimeoutMs = {TimeoutMs}, Username = {Username}, Password = {(Password is null ? "" : "***")}, Database = {Database}, Ssl = {Ssl}, SslVerify = {SslVerify}, ServerName = {ServerName} }}";
}

/// <summary>Kong's request-transformer (kong/plugins/request-transformer/schema.lua), applied remove, rename, replace, add, append.</summary>
public sealed record RequestTransformerConfig(
    string? HttpMethod,
    TransformNames Remove,
    TransformPairs Rename,
    TransformPairs Replace,
    string? ReplaceUri,
    TransformPairs Add,
    TransformPairs Append) : PluginConfig;

/// <summary>Names of body parameters, headers and query parameters.</summary>
public sealed record TransformNames(IReadOnlyList<string> Body, IReadOnlyList<string> Headers, IReadOnlyList<string> Querystring)
{
    public static readonly TransformNames Empty = new([], [], []);
}

/// <summary><c>name:value</c> pairs (for rename, <c>old:new</c>), split at the first colon as Kong splits them.</summary>
public sealed record TransformPairs(
    IReadOnlyList<KeyValuePair<string, string>> Body,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    IReadOnlyList<KeyValuePair<string, string>> Querystring)
{
    public static readonly TransformPairs Empty = new([], [], []);
}

/// <summary>Kong's cors (kong/plugins/cors/schema.lua).</summary>
public sealed record CorsConfig(
    IReadOnlyList<string> Origins,
    IReadOnlyList<string> Headers,
    IReadOnlyList<string> ExposedHeaders,
    IReadOnlyList<string> Methods,
    double? MaxAge,
    bool Credentials,
    bool PrivateNetwork,
    bool PreflightContinue,
    bool AllowOriginAbsent) : PluginConfig;

/// <summary>Kong's request-size-limiting (kong/plugins/request-size-limiting/schema.lua).</summary>
public sealed record RequestSizeLimitingConfig(long AllowedPayloadSize, string SizeUnit, bool RequireContentLength) : PluginConfig
{
    /// <summary>The limit in bytes, with Kong's factors (a kilobyte is 1024 bytes, a megabyte 1048576).</summary>
    public long AllowedBytes
    {
        get
        {
            var factor = SizeUnit switch
            {
                "kilobytes" => 1024L,
                "megabytes" => 1048576L,
                _ => 1L,
            };

            // Kong multiplies Lua numbers, which do not wrap: a size past what a long holds in bytes allows everything,
            // where the wrapped product could be any limit, a negative one refusing every request.
            return AllowedPayloadSize > long.MaxValue / factor ? long.MaxValue
                : AllowedPayloadSize < long.MinValue / factor ? long.MinValue
                : AllowedPayloadSize * factor;
        }
    }
}

/// <summary>A problem in a configuration file: where (<c>plugins[2].config.second</c>) and what.</summary>
public sealed record ConfigProblem(string Path, string Message)
{
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}

/// <summary>What <see cref="DeclarativeParser"/> read: the configuration when it has no problem, else every problem found.</summary>
public sealed record DeclarativeParseResult(DeclarativeConfig? Config, IReadOnlyList<ConfigProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;
}
