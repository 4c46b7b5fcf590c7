namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// The <c>config</c> records of the plugins the gateway runs, field by field and default by default as Kong 3.x's
/// kong/plugins/{name}/schema.lua declares them, with their entity checks.
/// </summary>
internal static class PluginSchemas
{
    public static readonly string[] Names = ["cors", "key-auth", "rate-limiting", "request-size-limiting", "request-transformer"];

    /// <summary>Plugins whose schema has <c>consumer = typedefs.no_consumer</c>: they run before a consumer is known.</summary>
    public static bool AllowsConsumer(string name) => name is not ("key-auth" or "cors");

    /// <summary>Reads <paramref name="config"/> for plugin <paramref name="name"/>; problems at <paramref name="entityPath"/> are entity checks.</summary>
    public static PluginConfig Read(string name, FieldReader config, string entityPath)
    {
        PluginConfig result = name switch
        {
            "key-auth" => KeyAuth(config),
            "rate-limiting" => RateLimiting(config, entityPath),
            "request-transformer" => RequestTransformer(config),
            "cors" => Cors(config),
            "request-size-limiting" => RequestSizeLimiting(config),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a plugin of the gateway"),
        };
        config.Finish();
        return result;
    }

    private static KeyAuthConfig KeyAuth(FieldReader config) => new(
        KeyNames: config.Strings("key_names", KongSyntax.HeaderName) ?? ["apikey"],
        HideCredentials: config.Boolean("hide_credentials", false),
        Anonymous: config.String("anonymous"),
        KeyInHeader: config.Boolean("key_in_header", true),
        KeyInQuery: config.Boolean("key_in_query", true),
        KeyInBody: config.Boolean("key_in_body", false),
        RunOnPreflight: config.Boolean("run_on_preflight", true),
        Realm: config.String("realm"));

    private static readonly string[] Periods = ["second", "minute", "hour", "day", "month", "year"];

    private static RateLimitingConfig RateLimiting(FieldReader config, string entityPath)
    {
        var limits = new double?[Periods.Length];
        for (var i = 0; i < Periods.Length; i++)
        {
            limits[i] = Positive(config, Periods[i]);
        }

        var limitBy = config.OneOf("limit_by", ["consumer", "credential", "ip", "service", "header", "path"], "consumer");
        var headerName = config.String("header_name") is { } header && Check(config, "header_name", KongSyntax.HeaderName(header)) ? header : null;
        var path = config.String("path") is { } p && Check(config, "path", KongSyntax.Path(p)) ? p : null;
        var policy = config.String("policy") switch
        {
            null => "local",
            "local" => "local",
            "redis" => "redis",
            "cluster" => Refuse(config, "policy", "expected one of: local, redis (policy 'cluster' keeps its counters in Kong's database, and this gateway has none)"),
            _ => Refuse(config, "policy", "expected one of: local, redis"),
        };
        var faultTolerant = config.Boolean("fault_tolerant", true);
        var redis = Redis(config);
        var hideClientHeaders = config.Boolean("hide_client_headers", false);
        var errorCode = Positive(config, "error_code") ?? 429;
        var errorMessage = config.String("error_message") ?? "API rate limit exceeded";
        var syncRate = config.Number("sync_rate") ?? -1;

        if (limits.All(limit => limit is null))
        {
            config.Problems.Add(new ConfigProblem(entityPath,
                "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"));
        }

        // Kong's validate_periods_order, message for message: the first pair out of order is the one reported.
        var ordered = true;
        for (var i = 0; i < Periods.Length && ordered; i++)
        {
            for (var j = i + 1; j < Periods.Length && ordered; j++)
            {
                if (limits[i] is { } lower && limits[j] is { } upper && upper < lower)
                {
                    config.Problem("", FormattableString.Invariant($"The limit for {Periods[j]}({upper:0.0}) cannot be lower than the limit for {Periods[i]}({lower:0.0})"));
                    ordered = false;
                }
            }
        }

        if (ordered && policy != "redis" && syncRate != -1)
        {
            config.Problem("", "sync_rate can only be used with the redis policy");
        }
        else if (ordered && policy == "redis" && syncRate != -1 && syncRate < 0.02)
        {
            config.Problem("", "sync_rate must be greater than 0.02, or -1 to disable");
        }

        if (policy == "redis" && redis.Host is null)
        {
            config.Problem("redis.host", "required field missing");
        }

        if (limitBy == "header" && headerName is null && !config.Has("header_name"))
        {
            config.Problem("header_name", "required field missing");
        }

        if (limitBy == "path" && path is null && !config.Has("path"))
        {
            config.Problem("path", "required field missing");
        }

        return new RateLimitingConfig(limits[0], limits[1], limits[2], limits[3], limits[4], limits[5], limitBy, headerName, path, policy,
            faultTolerant, redis, hideClientHeaders, errorCode, errorMessage, syncRate);
    }

    private static RedisConfig Redis(FieldReader config)
    {
        var redis = config.Record("redis");
        var host = redis.String("host") is { } h && Check(redis, "host", KongSyntax.Host(h)) ? h : null;
        var port = redis.IntegerBetween("port", 0, 65535, 6379);
        var timeout = redis.IntegerBetween("timeout", 0, int.MaxValue - 1, 2000);
        var username = redis.String("username");
        var password = redis.String("password");
        var database = (int)(redis.Integer("database") ?? 0);
        var ssl = redis.Boolean("ssl", false);
        var sslVerify = redis.Boolean("ssl_verify", false);
        var serverName = redis.String("server_name") is { } s && Check(redis, "server_name", KongSyntax.Sni(s)) ? s : null;
        redis.Finish();

        // Kong 3.x's deprecated shorthands (config.redis_host, ...), still accepted until 4.0; they fill the record.
        host = config.String("redis_host") is { } shortHost && Check(config, "redis_host", KongSyntax.Host(shortHost)) ? shortHost : host;
        port = config.Has("redis_port") ? config.IntegerBetween("redis_port", 0, 65535, port) : Claim(config, "redis_port", port);
        password = config.String("redis_password") ?? password;
        username = config.String("redis_username") ?? username;
        ssl = config.OptionalBoolean("redis_ssl") ?? ssl;
        sslVerify = config.OptionalBoolean("redis_ssl_verify") ?? sslVerify;
        serverName = config.String("redis_server_name") is { } shortName && Check(config, "redis_server_name", KongSyntax.Sni(shortName)) ? shortName : serverName;
        timeout = config.Has("redis_timeout") ? config.IntegerBetween("redis_timeout", 0, int.MaxValue - 1, timeout) : Claim(config, "redis_timeout", timeout);
        database = config.Integer("redis_database") is { } shortDatabase ? (int)shortDatabase : database;
        return new RedisConfig(host, port, timeout, username, password, database, ssl, sslVerify, serverName);
    }

    private static RequestTransformerConfig RequestTransformer(FieldReader config)
    {
        var httpMethod = config.String("http_method") is { } method && Check(config, "http_method", KongSyntax.HttpMethod(method)) ? method : null;

        var remove = config.Record("remove");
        var removed = new TransformNames(
            remove.Strings("body") ?? [],
            remove.Strings("headers", header => KongSyntax.HeaderName(header) is null ? null : $"'{header}' is not a valid header") ?? [],
            remove.Strings("querystring") ?? []);
        remove.Finish();

        var rename = config.Record("rename");
        var renamed = new TransformPairs(Pairs(rename, "body", PairKind.Value), Pairs(rename, "headers", PairKind.HeaderToHeader), Pairs(rename, "querystring", PairKind.Value));
        rename.Finish();

        var replace = config.Record("replace");
        var replaced = new TransformPairs(Pairs(replace, "body", PairKind.Value), Pairs(replace, "headers", PairKind.Header), Pairs(replace, "querystring", PairKind.Value));
        var uri = replace.String("uri");
        replace.Finish();

        var add = config.Record("add");
        var added = new TransformPairs(Pairs(add, "body", PairKind.Value), Pairs(add, "headers", PairKind.Header), Pairs(add, "querystring", PairKind.Value));
        add.Finish();

        var append = config.Record("append");
        var appended = new TransformPairs(Pairs(append, "body", PairKind.Value), Pairs(append, "headers", PairKind.Header), Pairs(append, "querystring", PairKind.Value));
        append.Finish();

        return new RequestTransformerConfig(httpMethod, removed, renamed, replaced, uri, added, appended);
    }

    private enum PairKind
    {
        /// <summary>colon_strings_array: <c>name:value</c>, the value not empty.</summary>
        Value,

        /// <summary>colon_header_value_array: <c>header:value</c>, the name a header name.</summary>
        Header,

        /// <summary>colon_headers_array (rename): <c>old:new</c>, both header names.</summary>
        HeaderToHeader,
    }

    private static List<KeyValuePair<string, string>> Pairs(FieldReader record, string field, PairKind kind)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var entry in record.Strings(field, entry => PairProblem(entry, kind)) ?? [])
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var name = entry[..colon];
            pairs.Add(new(name, entry[(colon + 1)..].TrimStart(':')));
        }

        return pairs;
    }

    private static string? PairProblem(string entry, PairKind kind)
    {
        // Kong splits with ^([^:]+):*(.-)$: the name runs to the first colon, and any further colons right after it go too.
        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return kind == PairKind.Value ? $"key '{(colon < 0 ? entry : "")}' has no value" : $"invalid value: {entry}";
        }

        var name = entry[..colon];
        var value = entry[(colon + 1)..].TrimStart(':');
        switch (kind)
        {
            case PairKind.Value:
                return value.Length == 0 ? $"key '{name}' has no value" : null;
            case PairKind.Header:
                return KongSyntax.HeaderName(name) is null ? null : $"'{name}' is not a valid header";
            default:
                return KongSyntax.HeaderName(name) is not null ? $"'{name}' is not a valid header"
                    : KongSyntax.HeaderName(value) is not null ? $"'{value}' is not a valid header"
                    : null;
        }
    }

    private static readonly string[] CorsMethods = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

    private static CorsConfig Cors(FieldReader config) => new(
        Origins: config.Strings("origins", OriginProblem) ?? [],
        Headers: config.Strings("headers") ?? [],
        ExposedHeaders: config.Strings("exposed_headers") ?? [],
        Methods: config.Strings("methods", method => CorsMethods.Contains(method, StringComparer.Ordinal) ? null : $"expected one of: {string.Join(", ", CorsMethods)}") ?? [.. CorsMethods],
        MaxAge: config.Number("max_age"),
        Credentials: config.Boolean("credentials", false),
        PrivateNetwork: config.Boolean("private_network", false),
        PreflightContinue: config.Boolean("preflight_continue", false),
        AllowOriginAbsent: config.Boolean("allow_origin_absent", true));

    private static string? OriginProblem(string origin)
    {
        if (origin == "*")
        {
            return null;
        }

        try
        {
            _ = new System.Text.RegularExpressions.Regex(origin, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100));
            return null;
        }
        catch (ArgumentException)
        {
            return $"'{origin}' is not a valid regex";
        }
    }

    private static RequestSizeLimitingConfig RequestSizeLimiting(FieldReader config) => new(
        AllowedPayloadSize: config.Integer("allowed_payload_size") ?? 128,
        SizeUnit: config.OneOf("size_unit", ["megabytes", "kilobytes", "bytes"], "megabytes"),
        RequireContentLength: config.Boolean("require_content_length", false));

    private static double? Positive(FieldReader config, string field)
    {
        if (config.Number(field) is not { } value)
        {
            return null;
        }

        if (value <= 0)
        {
            config.Problem(field, "value must be greater than 0");
            return null;
        }

        return value;
    }

    private static bool Check(FieldReader reader, string field, string? problem)
    {
        if (problem is null)
        {
            return true;
        }

        reader.Problem(field, problem);
        return false;
    }

    private static string Refuse(FieldReader reader, string field, string problem)
    {
        reader.Problem(field, problem);
        return "local";
    }

    private static int Claim(FieldReader reader, string field, int value)
    {
        reader.Claim(field);
        return value;
    }
}
