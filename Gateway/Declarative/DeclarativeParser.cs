using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// Reads and validates a Kong declarative configuration, format 3.0, as <c>kong config parse</c> does: every problem
/// in one pass, each with its path (<c>services[0].routes[1].paths[0]</c>, <c>plugins[2].config.second</c>), Kong's
/// message where Kong has one. The model is returned only when there is no problem at all. Keys never appear in a
/// problem, nor in the model (only their SHA-256).
/// </summary>
public static partial class DeclarativeParser
{
    public const string FormatVersion = "3.0";

    public static DeclarativeParseResult ParseFile(string path) => Parse(File.ReadAllText(path));

    public static DeclarativeParseResult Parse(string text)
    {
        var problems = new List<ConfigProblem>();
        var root = ConfigNode.Load(text, problems);
        if (root is null)
        {
            if (problems.Count == 0)
            {
                problems.Add(new ConfigProblem("", "expected a record: the file is empty"));
            }

            return new DeclarativeParseResult(null, problems);
        }

        if (FieldReader.Of(root, "", problems) is not { } reader)
        {
            return new DeclarativeParseResult(null, problems);
        }

        var config = new Reading(problems).Read(reader);
        return new DeclarativeParseResult(problems.Count == 0 ? config : null, problems);
    }

    /// <summary>One parse: entities as read, references resolved once every entity is known.</summary>
    private sealed class Reading(List<ConfigProblem> problems)
    {
        private readonly List<(ServiceEntity Entity, string Path, string? Id)> _services = [];
        private readonly List<(RouteEntity Entity, string Path, string? Id, Reference? Service)> _routes = [];
        private readonly List<(ConsumerEntity Entity, string Path, string? Id)> _consumers = [];
        private readonly List<PendingPlugin> _plugins = [];
        private readonly List<PendingCredential> _credentials = [];

        public DeclarativeConfig Read(FieldReader root)
        {
            var version = root.Node("_format_version");
            if (version is null)
            {
                root.Problem("_format_version", "required field missing");
            }
            else if (!ConfigNode.TryString(version, out var text))
            {
                root.Problem("_format_version", "expected a string");
            }
            else if (text != FormatVersion)
            {
                root.Problem("_format_version", $"expected one of: {FormatVersion} (this gateway reads format 3.0, which Kong 3.x writes)");
            }

            root.Boolean("_transform", true);

            Each(root, "services", ReadService);
            Each(root, "routes", (reader, path) => ReadRoute(reader, path, parentService: null));
            Each(root, "consumers", ReadConsumer);
            Each(root, "plugins", (reader, path) => ReadPlugin(reader, path, new Scope(null, null, null)));
            Each(root, "keyauth_credentials", (reader, path) => ReadCredential(reader, path, parentConsumer: null));
            root.Finish();

            return Resolve();
        }

        private void Each(FieldReader parent, string field, Action<FieldReader, string> read)
        {
            if (parent.Array(field) is not { } items)
            {
                return;
            }

            for (var i = 0; i < items.Children.Count; i++)
            {
                var path = parent.At($"{field}[{i}]");
                if (FieldReader.Of(items.Children[i], path, problems) is { } reader)
                {
                    read(reader, path);
                }
            }
        }

        private void ReadService(FieldReader s, string path)
        {
            var name = Name(s);
            var id = Id(s);
            var url = s.String("url");
            var protocol = s.String("protocol");
            var host = s.String("host");
            var portGiven = s.Has("port");
            var port = s.IntegerBetween("port", 1, 65535, 80);
            var servicePath = s.String("path");

            if (url is not null)
            {
                if (host is not null)
                {
                    s.Problem("", "exactly one of these fields must be non-empty: 'url', 'host'");
                }

                foreach (var (field, given) in new[] { ("protocol", protocol is not null), ("port", portGiven), ("path", servicePath is not null) })
                {
                    if (given)
                    {
                        s.Problem(field, "'url' sets protocol, host, port and path; give either 'url' or these fields");
                    }
                }

                if (ParseUrl(url) is { } parsed)
                {
                    (protocol, host, port, servicePath) = parsed;
                }
                else
                {
                    s.Problem("url", UrlProblem(url));
                    host = null;
                }
            }
            else if (host is null)
            {
                s.Problem("", "exactly one of these fields must be non-empty: 'url', 'host'");
            }

            var at = url is not null ? "url" : null;
            protocol ??= "http";
            if (!KongSyntax.HttpProtocols.Contains(protocol, StringComparer.Ordinal))
            {
                s.Problem(at ?? "protocol", KongSyntax.StreamProtocols.Contains(protocol, StringComparer.Ordinal)
                    ? $"expected one of: {string.Join(", ", KongSyntax.HttpProtocols)} ({protocol} services are Kong's stream proxy, which this gateway is not)"
                    : $"expected one of: {string.Join(", ", KongSyntax.HttpProtocols)}");
            }

            if (host is not null && KongSyntax.Host(host) is { } hostProblem)
            {
                s.Problem(at ?? "host", hostProblem);
            }

            if (servicePath is not null)
            {
                if (KongSyntax.Path(servicePath) is { } pathProblem)
                {
                    s.Problem(at ?? "path", pathProblem);
                }
                else if (protocol is "grpc" or "grpcs")
                {
                    s.Problem(at ?? "path", at is null ? "value must be null" : "the url of a grpc or grpcs service must have no path");
                }
            }

            var retries = s.IntegerBetween("retries", 0, 32767, 5);
            var connectTimeout = s.IntegerBetween("connect_timeout", 1, int.MaxValue - 1, 60000);
            var writeTimeout = s.IntegerBetween("write_timeout", 1, int.MaxValue - 1, 60000);
            var readTimeout = s.IntegerBetween("read_timeout", 1, int.MaxValue - 1, 60000);
            var enabled = s.Boolean("enabled", true);
            if (s.OptionalBoolean("tls_verify") is not null && protocol != "https")
            {
                s.Problem("tls_verify", "value must be null");
            }

            if (s.Has("tls_verify_depth"))
            {
                s.IntegerBetween("tls_verify_depth", 0, 64, 0);
                if (protocol != "https")
                {
                    s.Problem("tls_verify_depth", "value must be null");
                }
            }
            else
            {
                s.Claim("tls_verify_depth");
            }

            var tags = Tags(s);
            s.Claim("routes", "plugins");

            var key = name ?? id ?? path;
            _services.Add((new ServiceEntity(key, name, protocol, host ?? "", port, servicePath, retries, connectTimeout, writeTimeout, readTimeout, enabled, tags), path, id));

            Each(s, "routes", (reader, routePath) => ReadRoute(reader, routePath, parentService: key));
            Each(s, "plugins", (reader, pluginPath) => ReadPlugin(reader, pluginPath, new Scope(key, null, null) { Parent = "service" }));
            s.Finish();
        }

        private void ReadRoute(FieldReader r, string path, string? parentService)
        {
            var name = Name(r);
            var id = Id(r);
            Reference? service = null;
            if (parentService is null)
            {
                service = Reference.Read(r, "service");
            }

            var protocols = r.Strings("protocols", protocol =>
                KongSyntax.HttpProtocols.Contains(protocol, StringComparer.Ordinal) ? null
                : KongSyntax.StreamProtocols.Contains(protocol, StringComparer.Ordinal)
                    ? $"expected one of: {string.Join(", ", KongSyntax.HttpProtocols)} ({protocol} routes are Kong's stream proxy, which this gateway is not)"
                    : $"expected one of: {string.Join(", ", KongSyntax.HttpProtocols)}");
            if (protocols is { Count: 0 } && r.Array("protocols") is { Children.Count: 0 })
            {
                r.Problem("protocols", "length must be at least 1");
            }

            protocols = protocols is { Count: > 0 } ? protocols : ["http", "https"];
            var http = protocols.Any(p => p is "http" or "https");
            var grpc = protocols.Any(p => p is "grpc" or "grpcs");
            if (http && grpc)
            {
                r.Problem("protocols", "these sets are mutually exclusive: ('http', 'https'), ('grpc', 'grpcs')");
            }

            var methods = r.Strings("methods", KongSyntax.HttpMethod) ?? [];
            var hosts = r.Strings("hosts", KongSyntax.RouteHost) ?? [];
            var paths = new List<RoutePath>();
            foreach (var value in r.Strings("paths", candidate => KongSyntax.RouterPath(candidate, out _)) ?? [])
            {
                KongSyntax.RouterPath(value, out var pattern);
                paths.Add(new RoutePath(value, pattern));
            }

            var headers = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var (header, node) in r.MapEntries("headers"))
            {
                var at = $"headers.{header}";
                if (KongSyntax.HeaderName(header) is { } problem)
                {
                    r.Problem(at, problem);
                }
                else if (header.Equals("host", StringComparison.OrdinalIgnoreCase))
                {
                    r.Problem(at, "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
                }
                else if (node is not YamlSequenceNode values)
                {
                    r.Problem(at, "expected an array");
                }
                else
                {
                    var list = new List<string>();
                    for (var i = 0; i < values.Children.Count; i++)
                    {
                        if (ConfigNode.TryString(values.Children[i], out var value))
                        {
                            list.Add(value);
                        }
                        else
                        {
                            r.Problem($"{at}[{i}]", "expected a string");
                        }
                    }

                    headers[header] = list;
                }
            }

            bool stripPath;
            if (grpc)
            {
                // Kong's grpc route subschema: strip_path defaults to false there and may not be true.
                if (r.Boolean("strip_path", false))
                {
                    r.Problem("strip_path", "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'");
                }

                if (methods.Count > 0)
                {
                    r.Problem("methods", "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'");
                }

                stripPath = false;
            }
            else
            {
                stripPath = r.Boolean("strip_path", true);
            }

            var preserveHost = r.Boolean("preserve_host", false);
            var regexPriority = (int)Math.Clamp(r.Integer("regex_priority") ?? 0, int.MinValue, int.MaxValue);
            var pathHandling = r.OneOf("path_handling", ["v0", "v1"], "v0");
            var redirect = (int)(r.Integer("https_redirect_status_code") ?? 426);
            if (redirect is not (426 or 301 or 302 or 307 or 308))
            {
                r.Problem("https_redirect_status_code", "expected one of: 426, 301, 302, 307, 308");
            }

            var requestBuffering = r.Boolean("request_buffering", true);
            var responseBuffering = r.Boolean("response_buffering", true);
            var tags = Tags(r);

            if (methods.Count == 0 && hosts.Count == 0 && headers.Count == 0 && paths.Count == 0 && !r.Has("methods") && !r.Has("hosts") && !r.Has("headers") && !r.Has("paths"))
            {
                r.Problem("", grpc
                    ? $"must set one of 'hosts', 'headers', 'paths' when 'protocols' is '{(protocols.Contains("grpcs") ? "grpcs" : "grpc")}'"
                    : $"must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is '{(protocols.Contains("https") ? "https" : "http")}'");
            }

            r.Claim("plugins");
            var key = name ?? id ?? path;
            _routes.Add((new RouteEntity(key, name, parentService, protocols, methods, hosts, paths, headers, stripPath, preserveHost, regexPriority,
                pathHandling, redirect, requestBuffering, responseBuffering, tags), path, id, service));

            Each(r, "plugins", (reader, pluginPath) => ReadPlugin(reader, pluginPath, new Scope(null, key, null) { Parent = "route" }));
            r.Finish();
        }

        private void ReadConsumer(FieldReader c, string path)
        {
            var username = c.String("username");
            var customId = c.String("custom_id");
            var id = Id(c);
            var tags = Tags(c);
            if (username is null && customId is null)
            {
                c.Problem("", "at least one of these fields must be non-empty: 'custom_id', 'username'");
            }

            c.Claim("keyauth_credentials", "plugins");
            var key = username ?? customId ?? id ?? path;
            _consumers.Add((new ConsumerEntity(key, username, customId, [], tags), path, id));

            Each(c, "keyauth_credentials", (reader, credentialPath) => ReadCredential(reader, credentialPath, parentConsumer: key));
            Each(c, "plugins", (reader, pluginPath) => ReadPlugin(reader, pluginPath, new Scope(null, null, key) { Parent = "consumer" }));
            c.Finish();
        }

        private void ReadCredential(FieldReader k, string path, string? parentConsumer)
        {
            var consumer = parentConsumer is null ? Reference.Read(k, "consumer") : null;
            if (parentConsumer is null && consumer is null && !k.Has("consumer"))
            {
                k.Problem("consumer", "required field missing");
            }

            string? hash = null;
            if (k.Node("key") is not { } keyNode)
            {
                // Kong would generate a key; one generated here could never be handed to its consumer.
                k.Problem("key", "required field missing (a key is not generated here)");
            }
            else if (!ConfigNode.TryString(keyNode, out var key))
            {
                k.Problem("key", "expected a string");
            }
            else
            {
                hash = KeyHashes.FromConfig(key, out var problem);
                if (problem is not null)
                {
                    k.Problem("key", problem);
                }
            }

            Id(k);
            var tags = Tags(k);
            k.Finish();
            if (hash is not null)
            {
                _credentials.Add(new PendingCredential(path, parentConsumer, consumer, new KeyAuthCredential(hash, tags)));
            }
        }

        private void ReadPlugin(FieldReader p, string path, Scope scope)
        {
            var name = p.String("name");
            if (name is null && !p.Has("name"))
            {
                p.Problem("name", "required field missing");
            }

            var instanceName = Utf8(p, "instance_name");
            Id(p);
            var enabled = p.Boolean("enabled", true);
            var protocols = p.Strings("protocols", protocol => KongSyntax.HttpProtocols.Contains(protocol, StringComparer.Ordinal)
                ? null
                : $"expected one of: {string.Join(", ", KongSyntax.HttpProtocols)}");
            if (protocols is { Count: 0 } && p.Array("protocols") is { Children.Count: 0 })
            {
                p.Problem("protocols", "length must be at least 1");
            }

            var service = scope.Parent == "service" ? null : Reference.Read(p, "service");
            var route = scope.Parent == "route" ? null : Reference.Read(p, "route");
            var consumer = scope.Parent == "consumer" ? null : Reference.Read(p, "consumer");
            var tags = Tags(p);

            PluginConfig? config = null;
            if (name is not null && PluginSchemas.Names.Contains(name, StringComparer.Ordinal))
            {
                config = PluginSchemas.Read(name, p.Record("config"), path);
                if (!PluginSchemas.AllowsConsumer(name) && (consumer is not null || scope.Consumer is not null))
                {
                    p.Problem("consumer", "value must be null");
                }
            }
            else
            {
                // An unknown plugin's config has no schema to check it against: only the name is reported.
                p.Claim("config");
                if (name is not null)
                {
                    p.Problem("name", $"plugin '{name}' not enabled; this gateway runs {string.Join(", ", PluginSchemas.Names)}");
                }
            }

            p.Finish();
            if (name is not null && config is not null)
            {
                _plugins.Add(new PendingPlugin(path, name, instanceName, scope, service, route, consumer, enabled,
                    protocols is { Count: > 0 } ? protocols : [.. KongSyntax.HttpProtocols], config, tags));
            }
        }

        private DeclarativeConfig Resolve()
        {
            var serviceKeys = Keys(_services.Select(s => (s.Entity.Key, s.Entity.Name, s.Id, s.Path)), "services", "name");
            var routeKeys = Keys(_routes.Select(r => (r.Entity.Key, r.Entity.Name, r.Id, r.Path)), "routes", "name");
            var consumerKeys = Keys(_consumers.Select(c => (c.Entity.Key, c.Entity.Username, c.Id, c.Path)), "consumers", "username");
            Unique(_consumers.Select(c => (c.Entity.CustomId, c.Path)), "consumers", "custom_id");
            Unique(_plugins.Select(p => (p.InstanceName, p.Path)), "plugins", "instance_name");

            var routes = new List<RouteEntity>();
            foreach (var (entity, path, _, service) in _routes)
            {
                routes.Add(service is null ? entity : entity with { ServiceKey = Find(serviceKeys, service, path, "service", "services") });
            }

            var credentials = new Dictionary<string, List<KeyAuthCredential>>(StringComparer.Ordinal);
            var keyOwners = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var credential in _credentials)
            {
                var owner = credential.ParentConsumer
                    ?? (credential.Consumer is { } consumer ? Find(consumerKeys, consumer, credential.Path, "consumer", "consumers") : null);
                if (!keyOwners.TryAdd(credential.Credential.KeyHash, credential.Path))
                {
                    problems.Add(new ConfigProblem($"{credential.Path}.key",
                        $"uniqueness violation: 'keyauth_credentials' entity with this key already declared at {keyOwners[credential.Credential.KeyHash]}; a key must identify one consumer"));
                }

                if (owner is not null)
                {
                    (credentials.TryGetValue(owner, out var list) ? list : credentials[owner] = []).Add(credential.Credential);
                }
            }

            var plugins = new List<PluginEntity>();
            var scopes = new Dictionary<(string, string?, string?, string?), string>();
            foreach (var plugin in _plugins)
            {
                var serviceKey = plugin.Scope.Service ?? (plugin.Service is { } s ? Find(serviceKeys, s, plugin.Path, "service", "services") : null);
                var routeKey = plugin.Scope.Route ?? (plugin.Route is { } r ? Find(routeKeys, r, plugin.Path, "route", "routes") : null);
                var consumerKey = plugin.Scope.Consumer ?? (plugin.Consumer is { } c ? Find(consumerKeys, c, plugin.Path, "consumer", "consumers") : null);
                if (!scopes.TryAdd((plugin.Name, serviceKey, routeKey, consumerKey), plugin.Path))
                {
                    problems.Add(new ConfigProblem(plugin.Path,
                        $"uniqueness violation: 'plugins' entity '{plugin.Name}' for the same service, route and consumer already declared at {scopes[(plugin.Name, serviceKey, routeKey, consumerKey)]}"));
                }

                plugins.Add(new PluginEntity(plugin.Name, plugin.InstanceName, serviceKey, routeKey, consumerKey, plugin.Enabled, plugin.Protocols, plugin.Config, plugin.Tags));
            }

            var consumers = _consumers
                .Select(c => c.Entity with { KeyAuthCredentials = credentials.TryGetValue(c.Entity.Key, out var list) ? list : [] })
                .ToList();
            return new DeclarativeConfig([.. _services.Select(s => s.Entity)], routes, consumers, plugins);
        }

        /// <summary>The entities' keys by name and by id, reporting names and ids declared twice.</summary>
        private Dictionary<string, string> Keys(IEnumerable<(string Key, string? Name, string? Id, string Path)> entities, string entity, string nameField)
        {
            var keys = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            var ids = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, name, id, path) in entities)
            {
                if (name is not null && !names.TryAdd(name, path))
                {
                    problems.Add(new ConfigProblem(path, $"uniqueness violation: '{entity}' entity with {nameField} set to '{name}' already declared at {names[name]}"));
                }

                if (id is not null && !ids.TryAdd(id, path))
                {
                    problems.Add(new ConfigProblem(path, $"uniqueness violation: '{entity}' entity with primary key set to '{id}' already declared at {ids[id]}"));
                }

                if (name is not null)
                {
                    keys.TryAdd(name, key);
                }

                if (id is not null)
                {
                    keys.TryAdd(id, key);
                }
            }

            return keys;
        }

        private void Unique(IEnumerable<(string? Value, string Path)> values, string entity, string field)
        {
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (value, path) in values)
            {
                if (value is not null && !seen.TryAdd(value, path))
                {
                    problems.Add(new ConfigProblem(path, $"uniqueness violation: '{entity}' entity with {field} set to '{value}' already declared at {seen[value]}"));
                }
            }
        }

        private string? Find(Dictionary<string, string> keys, Reference reference, string path, string field, string entity)
        {
            if (keys.TryGetValue(reference.Value, out var key))
            {
                return key;
            }

            problems.Add(new ConfigProblem($"{path}.{field}", $"invalid reference '{field}: {reference.Value}' (no such entry in '{entity}')"));
            return null;
        }

        /// <summary>Kong's url shorthand: protocol, host, port (80 unless given, 443 for https) and path, which is null without one.</summary>
        private static (string Protocol, string Host, int Port, string? Path)? ParseUrl(string url)
        {
            var scheme = url.IndexOf("://", StringComparison.Ordinal);
            if (scheme <= 0 || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            {
                return null;
            }

            var rest = url[(scheme + 3)..];
            var slash = rest.IndexOfAny(['/', '?', '#']);
            string? path = slash >= 0 && rest[slash] == '/' ? rest[slash..].Split('?', '#')[0] : null;
            var protocol = uri.Scheme.ToLowerInvariant();
            var port = !uri.IsDefaultPort && uri.Port > 0 ? uri.Port
                : protocol == "https" ? 443
                : 80;
            return (protocol, uri.Host, port, path);
        }

        private static string UrlProblem(string url) =>
            url.IndexOf("://", StringComparison.Ordinal) <= 0 ? "missing scheme in url"
            : !Uri.TryCreate(url, UriKind.Absolute, out _) ? "could not parse url"
            : "missing host in url";

        private static string? Name(FieldReader reader) => Utf8(reader, "name");

        private static string? Utf8(FieldReader reader, string field)
        {
            if (reader.String(field) is not { } name)
            {
                return null;
            }

            if (KongSyntax.Utf8Name(name) is { } problem)
            {
                reader.Problem(field, problem);
            }

            return name;
        }

        private static string? Id(FieldReader reader)
        {
            if (reader.String("id") is not { } id)
            {
                return null;
            }

            if (!Guid.TryParseExact(id, "D", out _))
            {
                reader.Problem("id", "expected a valid UUID");
                return null;
            }

            return id.ToLowerInvariant();
        }

        private static List<string> Tags(FieldReader reader) => reader.Strings("tags", tag => TagRegex().IsMatch(tag)
            ? null
            : $"invalid tag '{tag}': expected printable ascii (except `,` and `/`) or valid utf-8 sequences") ?? [];
    }

    /// <summary>Where an entity is nested: the keys its parent gives it, and which of the plugin's fields the parent takes.</summary>
    private sealed record Scope(string? Service, string? Route, string? Consumer)
    {
        public string? Parent { get; init; }
    }

    /// <summary>A foreign key as a top-level entity gives it: a name or id, or a record with one of them.</summary>
    private sealed record Reference(string Value)
    {
        public static Reference? Read(FieldReader reader, string field)
        {
            if (reader.Node(field) is not { } node)
            {
                return null;
            }

            if (ConfigNode.TryString(node, out var text))
            {
                return new Reference(text);
            }

            if (FieldReader.Of(node, reader.At(field), reader.Problems) is not { } record)
            {
                return null;
            }

            var id = record.String("id");
            var name = record.String("name");
            var value = id ?? name;
            record.Finish();
            if (value is null)
            {
                record.Problem("", "at least one of these fields must be non-empty: 'id', 'name'");
            }

            return value is null ? null : new Reference(value);
        }
    }

    private sealed record PendingPlugin(
        string Path,
        string Name,
        string? InstanceName,
        Scope Scope,
        Reference? Service,
        Reference? Route,
        Reference? Consumer,
        bool Enabled,
        IReadOnlyList<string> Protocols,
        PluginConfig Config,
        IReadOnlyList<string> Tags);

    private sealed record PendingCredential(string Path, string? ParentConsumer, Reference? Consumer, KeyAuthCredential Credential);

    // Kong's validate_tag: printable ASCII but ',' and '/', and non-ASCII.
    [GeneratedRegex(@"^[ !-+\-.0-~\u0080-\uFFFF]+$")]
    private static partial Regex TagRegex();
}
