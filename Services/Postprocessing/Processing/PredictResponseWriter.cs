using System.Buffers;
using System.Globalization;
using System.Text.Json;
using MlPlatform.Contracts.Predictions;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Postprocessing.Processing;

/// <summary>
/// Writes a model's inference response as a <see cref="PredictResponse"/>, one prediction per row of the scores
/// output, straight to the buffer the response is sent from.
/// </summary>
internal static class PredictResponseWriter
{
    private static readonly JsonEncodedText Predictions = JsonEncodedText.Encode(PredictFields.Predictions);
    private static readonly JsonEncodedText Label = JsonEncodedText.Encode(PredictFields.Label);
    private static readonly JsonEncodedText Score = JsonEncodedText.Encode(PredictFields.Score);
    private static readonly JsonEncodedText TopK = JsonEncodedText.Encode(PredictFields.TopK);
    private static readonly JsonEncodedText ModelName = JsonEncodedText.Encode(PredictFields.ModelName);
    private static readonly JsonEncodedText ModelVersion = JsonEncodedText.Encode(PredictFields.ModelVersion);
    private static readonly JsonEncodedText Id = JsonEncodedText.Encode(PredictFields.Id);

    /// <summary>Writes the predictions, or names what in the response makes that impossible.</summary>
    /// <param name="rows">The number of predictions written.</param>
    /// <returns>Null on success; otherwise the problem, written for the client, and the writer's content is to be dropped.</returns>
    public static string? TryWrite(Utf8JsonWriter writer, InferenceResponse response, PostprocessPlan plan, ILogger logger, out int rows)
    {
        rows = 0;
        var config = plan.Config ?? throw new InvalidOperationException("A plan with an error cannot write predictions.");
        var output = FindOutput(response, config.Output);
        if (output is null)
        {
            return $"output '{config.Output}', which the postprocess config of model '{plan.Model}' names, is not in the inference response; "
                + (response.Outputs.Count == 0 ? "the response has no outputs" : $"the response has {Names(response.Outputs)}");
        }

        if (output.DataType is not (TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64))
        {
            return $"output '{output.Name}' is {output.DataType.ProtocolName}; class scores must be FP16, FP32 or FP64";
        }

        var shape = output.Shape;
        if (shape.Length is not (1 or 2))
        {
            return $"output '{output.Name}' has shape {TensorShape.Format(shape)}, of rank {shape.Length}; class scores must be shaped [batch, classes] or [classes]";
        }

        var classes = shape[^1];
        var rowCount = shape.Length == 2 ? shape[0] : 1;
        if (classes == 0)
        {
            return $"output '{output.Name}' has shape {TensorShape.Format(shape)}, with no classes to rank";
        }

        var elementSize = output.DataType.ElementSize;
        if (!TensorShape.TryGetElementCount(shape, out var elementCount) || elementCount * elementSize != output.Data.Length)
        {
            return $"output '{output.Name}' holds {output.Data.Length} bytes of data; shape {TensorShape.Format(shape)} of {output.DataType.ProtocolName} needs {elementCount * elementSize}";
        }

        plan.CheckLabelCount((int)classes, logger);
        writer.WriteStartObject();
        var error = WriteRows(writer, output, (int)rowCount, (int)classes, plan);
        if (error is not null)
        {
            return error;
        }

        writer.WriteString(ModelName, response.ModelName);
        if (response.ModelVersion is { } version)
        {
            writer.WriteString(ModelVersion, version);
        }

        if (response.Id is { } id)
        {
            writer.WriteString(Id, id);
        }

        writer.WriteEndObject();
        rows = (int)rowCount;
        return null;
    }

    private static string? WriteRows(Utf8JsonWriter writer, InferenceTensor output, int rowCount, int classes, PostprocessPlan plan)
    {
        var config = plan.Config!;
        var k = Math.Min(config.TopK, classes);
        var singlePrecision = output.DataType != TensorDataType.Fp64;
        var rowBytes = classes * output.DataType.ElementSize;

        var scores = ArrayPool<double>.Shared.Rent(classes);
        var indices = ArrayPool<int>.Shared.Rent(k > ClassScores.InsertionLimit ? k + classes : k);
        try
        {
            var row = scores.AsSpan(0, classes);
            var top = indices.AsSpan(0, k);
            var order = indices.AsSpan(k);

            writer.WriteStartArray(Predictions);
            var data = output.Data.Span;
            for (var r = 0; r < rowCount; r++)
            {
                ClassScores.Read(data.Slice(r * rowBytes, rowBytes), output.DataType, row);

                var bad = ClassScores.IndexOfUnusable(row, config.Softmax);
                if (bad >= 0)
                {
                    return $"output '{output.Name}' holds {Describe(row[bad])} at {Position(output, r, bad)}; "
                        + (config.Softmax ? "logits must be numbers or -Infinity" : "scores must be finite numbers");
                }

                if (config.Softmax && !ClassScores.TrySoftmax(row))
                {
                    return $"output '{output.Name}' holds no finite logit in {Position(output, r, -1)}; softmax needs at least one";
                }

                if (singlePrecision)
                {
                    ClassScores.RoundToSingle(row);
                }

                ClassScores.SelectTopK(scores, classes, top, order);

                writer.WriteStartObject();
                WriteClass(writer, plan, top[0], row[top[0]], singlePrecision);
                writer.WriteStartArray(TopK);
                foreach (var index in top)
                {
                    writer.WriteStartObject();
                    WriteClass(writer, plan, index, row[index], singlePrecision);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            return null;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indices);
            ArrayPool<double>.Shared.Return(scores);
        }
    }

    private static void WriteClass(Utf8JsonWriter writer, PostprocessPlan plan, int index, double score, bool singlePrecision)
    {
        if (index < plan.Labels.Length)
        {
            writer.WriteString(Label, plan.Labels[index]);
        }
        else
        {
            Span<char> digits = stackalloc char[11];
            index.TryFormat(digits, out var length, provider: CultureInfo.InvariantCulture);
            writer.WriteString(Label, digits[..length]);
        }

        if (singlePrecision)
        {
            // The shortest text that reads back as the same float: 0.98, not 0.98000001907348633.
            writer.WriteNumber(Score, (float)score);
        }
        else
        {
            writer.WriteNumber(Score, score);
        }
    }

    private static InferenceTensor? FindOutput(InferenceResponse response, string name)
    {
        foreach (var output in response.Outputs)
        {
            if (output.Name == name)
            {
                return output;
            }
        }

        return null;
    }

    private static string Names(IReadOnlyList<InferenceTensor> outputs)
    {
        var names = new string[outputs.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = $"'{outputs[i].Name}'";
        }

        return string.Join(", ", names);
    }

    private static string Position(InferenceTensor output, int row, int column)
    {
        var rowText = row.ToString(CultureInfo.InvariantCulture);
        var columnText = column.ToString(CultureInfo.InvariantCulture);
        return (output.Shape.Length, column) switch
        {
            (1, < 0) => "its only row",
            (1, _) => $"[{columnText}]",
            (_, < 0) => $"row {rowText}",
            _ => $"[{rowText}, {columnText}]",
        };
    }

    private static string Describe(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "Infinity" : "-Infinity";
}
