using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// request-transformer on an <c>application/json</c> body, as Kong's transform_json_body does it: the members of the
/// top-level object are Lua table entries, so every value set is a JSON string (<c>add.body: n:5</c> gives
/// <c>"n":"5"</c>), <c>false</c> counts as absent where Kong tests a value's truth, and an empty body is an empty object
/// that only add and append can fill.
/// </summary>
/// <remarks>
/// Kong decodes the body with cjson and encodes it again whole; here the members nothing touched are copied as they
/// came (numbers keep every digit, where cjson rounds them to 14), and a body nothing changed is left as it was. A body
/// that is not JSON, or is JSON but not an object, is left as it was: Kong does so for the first and fails the request
/// (500) for a top-level number, string, boolean or null.
/// </remarks>
internal static class JsonBodyTransform
{
    /// <summary>cjson's decode_max_depth.</summary>
    private const int MaxDepth = 1000;

    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = MaxDepth };

    // cjson leaves UTF-8 as it is; the default encoder would turn every non-ASCII character into \uXXXX.
    private static readonly JsonWriterOptions WriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = MaxDepth + 1 };

    /// <summary>Writes the transformed body to <paramref name="output"/> and returns true, or returns false when the body stays as it is.</summary>
    public static bool TryTransform(ReadOnlyMemory<byte> body, TransformSet transforms, IBufferWriter<byte> output)
    {
        JsonDocument? document = null;
        try
        {
            if (!body.IsEmpty)
            {
                try
                {
                    document = JsonDocument.Parse(body, ReadOptions);
                }
                catch (JsonException)
                {
                    return false;
                }

                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return false;
                }
            }

            var members = new JsonMembers(document?.RootElement);
            var changed = false;

            foreach (var name in transforms.Remove)
            {
                changed |= members.Remove(name);
            }

            foreach (var pair in transforms.Rename)
            {
                changed |= members.Rename(pair.Name, pair.Value);
            }

            foreach (var pair in transforms.Replace)
            {
                changed |= members.Replace(pair.Name, pair.Value);
            }

            foreach (var pair in transforms.Add)
            {
                changed |= members.Add(pair.Name, pair.Value);
            }

            foreach (var pair in transforms.Append)
            {
                members.Append(pair.Name, pair.Value);
                changed = true;
            }

            if (!changed)
            {
                return false;
            }

            using var writer = new Utf8JsonWriter(output, WriteOptions);
            members.WriteTo(writer);
            return true;
        }
        finally
        {
            document?.Dispose();
        }
    }

    /// <summary>The top-level object as Kong's Lua table of it: one entry a name, the last of a repeated name winning, as in cjson.</summary>
    private sealed class JsonMembers
    {
        private readonly List<Member?> _members = [];
        private readonly Dictionary<string, int> _indexByName = new(StringComparer.Ordinal);

        public JsonMembers(JsonElement? root)
        {
            if (root is not { } element)
            {
                return;
            }

            foreach (var property in element.EnumerateObject())
            {
                if (_indexByName.TryGetValue(property.Name, out var index))
                {
                    _members[index]!.Original = property.Value;
                }
                else
                {
                    Insert(new Member(property.Name) { Original = property.Value, HasOriginal = true });
                }
            }
        }

        public bool Remove(string name)
        {
            if (!_indexByName.Remove(name, out var index))
            {
                return false;
            }

            _members[index] = null;
            return true;
        }

        /// <summary>Kong renames only a value that is true to Lua, over whatever the new name had.</summary>
        public bool Rename(string oldName, string newName)
        {
            if (oldName == newName || !_indexByName.TryGetValue(oldName, out var index) || !_members[index]!.IsTruthy)
            {
                return false;
            }

            Remove(newName);
            _indexByName.Remove(oldName);
            _members[index]!.Name = newName;
            _indexByName[newName] = index;
            return true;
        }

        public bool Replace(string name, string value)
        {
            if (!_indexByName.TryGetValue(name, out var index) || !_members[index]!.IsTruthy)
            {
                return false;
            }

            _members[index]!.Text = value;
            return true;
        }

        /// <summary>Kong's <c>if not parameters[name]</c>: a member that is <c>false</c> is overwritten too.</summary>
        public bool Add(string name, string value)
        {
            if (_indexByName.TryGetValue(name, out var index))
            {
                var member = _members[index]!;
                if (member.IsTruthy)
                {
                    return false;
                }

                member.Text = value;
                member.HasOriginal = false;
                return true;
            }

            Insert(new Member(name) { Text = value });
            return true;
        }

        public void Append(string name, string value)
        {
            if (!_indexByName.TryGetValue(name, out var index))
            {
                index = Insert(new Member(name));
            }

            (_members[index]!.Appended ??= []).Add(value);
        }

        public void WriteTo(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            foreach (var member in _members)
            {
                if (member is null)
                {
                    continue;
                }

                writer.WritePropertyName(member.Name);
                member.WriteValue(writer);
            }

            writer.WriteEndObject();
        }

        private int Insert(Member member)
        {
            var index = _members.Count;
            _indexByName[member.Name] = index;
            _members.Add(member);
            return index;
        }
    }

    private sealed class Member(string name)
    {
        public string Name { get; set; } = name;

        /// <summary>The value as it came, when <see cref="HasOriginal"/>.</summary>
        public JsonElement Original { get; set; }

        public bool HasOriginal { get; set; }

        /// <summary>A string that replace or add put in place of the original.</summary>
        public string? Text { get; set; }

        /// <summary>What append added: the member is then a Lua table, Kong's append_value.</summary>
        public List<string>? Appended { get; set; }

        public bool IsTruthy => Appended is not null || Text is not null || Original.ValueKind != JsonValueKind.False;

        public void WriteValue(Utf8JsonWriter writer)
        {
            if (Appended is null)
            {
                if (Text is not null)
                {
                    writer.WriteStringValue(Text);
                }
                else
                {
                    Original.WriteTo(writer);
                }

                return;
            }

            var kind = Text is not null ? JsonValueKind.String : HasOriginal ? Original.ValueKind : JsonValueKind.Undefined;
            if (kind == JsonValueKind.Object)
            {
                // Lua's table.insert on an object's table adds the keys 1, 2, ..., which cjson writes as "1", "2", ...
                writer.WriteStartObject();
                foreach (var property in Original.EnumerateObject())
                {
                    property.WriteTo(writer);
                }

                for (var i = 0; i < Appended.Count; i++)
                {
                    writer.WriteString((i + 1).ToString(CultureInfo.InvariantCulture), Appended[i]);
                }

                writer.WriteEndObject();
                return;
            }

            writer.WriteStartArray();
            if (kind == JsonValueKind.String)
            {
                if (Text is not null)
                {
                    writer.WriteStringValue(Text);
                }
                else
                {
                    Original.WriteTo(writer);
                }
            }
            else if (kind == JsonValueKind.Array)
            {
                foreach (var item in Original.EnumerateArray())
                {
                    item.WriteTo(writer);
                }
            }

            // A number, a boolean or null is neither a string nor a table to append_value: it gives way to the new values.
            foreach (var value in Appended)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }
    }
}
