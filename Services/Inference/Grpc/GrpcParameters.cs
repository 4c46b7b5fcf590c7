using System.Buffers;
using System.Text.Json;
using Google.Protobuf.Collections;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Grpc;

/// <summary>
/// Parameter maps between gRPC's <see cref="InferParameter"/> and the JSON values the protocol types carry, so a
/// parameter reaches the inference path the same whichever protocol brought it.
/// </summary>
internal static class GrpcParameters
{
    /// <returns>The parameters as JSON values, or null when there are none.</returns>
    /// <exception cref="InferenceProtocolException">A parameter has no value, or a value JSON cannot hold.</exception>
    public static Dictionary<string, JsonElement>? Read(MapField<string, InferParameter> parameters, string field)
    {
        if (parameters.Count == 0)
        {
            return null;
        }

        var values = new Dictionary<string, JsonElement>(parameters.Count, StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>(64);
        foreach (var (name, parameter) in parameters)
        {
            buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                switch (parameter.ParameterChoiceCase)
                {
                    case InferParameter.ParameterChoiceOneofCase.BoolParam:
                        writer.WriteBooleanValue(parameter.BoolParam);
                        break;
                    case InferParameter.ParameterChoiceOneofCase.Int64Param:
                        writer.WriteNumberValue(parameter.Int64Param);
                        break;
                    case InferParameter.ParameterChoiceOneofCase.Uint64Param:
                        writer.WriteNumberValue(parameter.Uint64Param);
                        break;
                    case InferParameter.ParameterChoiceOneofCase.DoubleParam when double.IsFinite(parameter.DoubleParam):
                        writer.WriteNumberValue(parameter.DoubleParam);
                        break;
                    case InferParameter.ParameterChoiceOneofCase.DoubleParam:
                        throw new InferenceProtocolException($"{field}['{GrpcRequestReader.Truncate(name)}'].double_param: must be finite");
                    case InferParameter.ParameterChoiceOneofCase.StringParam:
                        writer.WriteStringValue(parameter.StringParam);
                        break;
                    default:
                        throw new InferenceProtocolException($"{field}['{GrpcRequestReader.Truncate(name)}']: has no value; set one of bool_param, int64_param, string_param, double_param, uint64_param");
                }
            }

            var reader = new Utf8JsonReader(buffer.WrittenSpan);
            values[name] = JsonElement.ParseValue(ref reader);
        }

        return values;
    }

    /// <summary>Adds JSON parameter values to a gRPC map, each as the choice that holds it.</summary>
    public static void Write(IReadOnlyDictionary<string, JsonElement>? parameters, MapField<string, InferParameter> destination)
    {
        if (parameters is null)
        {
            return;
        }

        foreach (var (name, value) in parameters)
        {
            destination[name] = value.ValueKind switch
            {
                JsonValueKind.True or JsonValueKind.False => new InferParameter { BoolParam = value.GetBoolean() },
                JsonValueKind.Number when value.TryGetInt64(out var signed) => new InferParameter { Int64Param = signed },
                JsonValueKind.Number when value.TryGetUInt64(out var unsigned) => new InferParameter { Uint64Param = unsigned },
                JsonValueKind.Number => new InferParameter { DoubleParam = value.GetDouble() },
                JsonValueKind.String => new InferParameter { StringParam = value.GetString()! },
                // Objects and arrays come only from REST; gRPC has no choice for them but their text.
                _ => new InferParameter { StringParam = value.GetRawText() },
            };
        }
    }
}
