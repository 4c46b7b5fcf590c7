using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Execution;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// Runs a model before it is called ready, so the first real request does not pay for ONNX Runtime's lazy
/// allocations and kernel selection: the config's <c>model_warmup</c> samples, as Triton's, or, with none, one
/// request on zeros of its own.
/// </summary>
/// <remarks>
/// Only a sample the config asks for can keep a model from loading. Zeros are a guess: a model may need a
/// sample rate above zero, token ids inside its vocabulary or a particular state, and a valid model must not be
/// refused because the server guessed wrong; such a model is served, and its first request warms it up.
/// </remarks>
internal static class ModelWarmUp
{
    /// <summary>The folder of a model that holds the files its warm-up samples read.</summary>
    public const string FolderName = "warmup";

    /// <summary>Runs the warm-up.</summary>
    /// <returns>Why the server's own warm-up on zeros failed, or null when it ran or the config's samples did.</returns>
    /// <exception cref="ModelRepositoryException">A sample of the config is malformed, or the model fails on it.</exception>
    public static string? Run(ServedModel model, ModelDefinition definition, string modelPath)
    {
        if (model.Config.ModelWarmup is not { } samples)
        {
            try
            {
                RunOnce(model, InventZeros(model), 1);
                return null;
            }
            catch (OnnxRuntimeException exception)
            {
                return exception.Message;
            }
        }

        for (var i = 0; i < samples.Length; i++)
        {
            var sample = samples[i];
            // Each message closes the quote: "field 'model_warmup[0].inputs.x': ...".
            var field = $"{definition.ConfigPath}: field 'model_warmup[{i}]";
            var problems = new List<string>();
            var values = BuildSample(model, definition, sample, field, problems);
            if (problems.Count > 0)
            {
                throw new ModelRepositoryException(problems);
            }

            try
            {
                RunOnce(model, values, Math.Max(1, sample.Count));
            }
            catch (OnnxRuntimeException exception)
            {
                throw new ModelRepositoryException([$"{field}' (sample '{sample.Name}'): {modelPath} failed on it: {exception.Message}"]);
            }
        }

        return null;
    }

    /// <summary>Checks what can be checked of the samples without the graph, with the rest of the config.</summary>
    public static void Validate(string configPath, ModelConfig config, List<string> problems)
    {
        if (config.ModelWarmup is not { } samples)
        {
            return;
        }

        for (var i = 0; i < samples.Length; i++)
        {
            var sample = samples[i];
            var field = $"{configPath}: field 'model_warmup[{i}]";
            if (string.IsNullOrWhiteSpace(sample.Name))
            {
                problems.Add($"{field}.name' is empty; name each sample, so that a failure can say which");
            }

            var largest = config.MaxBatchSize > 0 ? config.MaxBatchSize : 1;
            if (sample.BatchSize < 1 || sample.BatchSize > largest)
            {
                problems.Add($"{field}.batch_size' is {sample.BatchSize}; it must be between 1 and {largest}" +
                    (config.MaxBatchSize > 0 ? " (max_batch_size)" : " (the model is not batched)"));
            }

            if (sample.Count < 0)
            {
                problems.Add($"{field}.count' is {sample.Count}; it must be 0 (once) or more");
            }

            if (sample.Inputs.Count == 0)
            {
                problems.Add($"{field}.inputs' is empty; give every input of the model");
            }

            foreach (var (name, input) in sample.Inputs)
            {
                var sources = (input.ZeroData ? 1 : 0) + (input.RandomData ? 1 : 0) + (input.InputDataFile is not null ? 1 : 0);
                if (sources != 1)
                {
                    problems.Add($"{field}.inputs.{name}' sets {sources} of zero_data, random_data and input_data_file; set exactly one");
                }

                if (input.InputDataFile is { } file && !IsInsideWarmUpFolder(file))
                {
                    problems.Add($"{field}.inputs.{name}.input_data_file' is '{file}'; it must name a file inside the model's {FolderName}/ folder");
                }

                if (input.DataType is { } dataType && !TryParseDataType(dataType, out _))
                {
                    problems.Add($"{field}.inputs.{name}.data_type' is '{dataType}', which is not a data type of the protocol (FP32 or TYPE_FP32, and so on)");
                }

                if (input.Dims is { } dims && dims.Any(d => d < 0))
                {
                    problems.Add($"{field}.inputs.{name}.dims' holds a negative dimension; a sample's shape is fixed");
                }
            }
        }
    }

    private static void RunOnce(ServedModel model, OrtValue[] values, int count)
    {
        var names = new string[model.Inputs.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = model.Inputs[i].Name;
        }

        try
        {
            for (var run = 0; run < count; run++)
            {
                using var results = model.Session.Run(model.RunOptions, names, values, model.OutputNames);
            }
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    private static OrtValue[] InventZeros(ServedModel model)
    {
        var values = new OrtValue[model.Inputs.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var spec = model.Inputs[i];
            // Dynamic dimensions become 1: the smallest shape most such models accept.
            values[i] = Allocate(spec.ElementType, Array.ConvertAll(spec.Shape, dimension => dimension < 0 ? 1L : dimension));
        }

        return values;
    }

    private static OrtValue[] BuildSample(ServedModel model, ModelDefinition definition, ModelWarmupConfig sample, string field, List<string> problems)
    {
        foreach (var name in sample.Inputs.Keys)
        {
            if (!model.Inputs.Any(input => input.Name == name))
            {
                problems.Add($"{field}.inputs.{name}': the model has no input '{name}'; it has {string.Join(", ", model.Inputs.Select(input => input.Name))}");
            }
        }

        var values = new List<OrtValue>(model.Inputs.Count);
        try
        {
            foreach (var spec in model.Inputs)
            {
                if (!sample.Inputs.TryGetValue(spec.Name, out var input))
                {
                    problems.Add($"{field}.inputs': lacks the model's input '{spec.Name}'; a sample gives every input");
                    continue;
                }

                if (BuildInput(model, definition, sample.BatchSize, spec, input, $"{field}.inputs.{spec.Name}", problems) is { } value)
                {
                    values.Add(value);
                }
            }

            if (problems.Count == 0)
            {
                return [.. values];
            }
        }
        catch
        {
            Dispose(values);
            throw;
        }

        // The caller reports the problems; nothing built for the sample runs.
        Dispose(values);
        return [];
    }

    private static void Dispose(List<OrtValue> values)
    {
        foreach (var value in values)
        {
            value.Dispose();
        }
    }

    private static OrtValue? BuildInput(
        ServedModel model, ModelDefinition definition, int batchSize, TensorSpec spec, ModelWarmupInput input, string field, List<string> problems)
    {
        if (input.DataType is { } dataType && TryParseDataType(dataType, out var declared) && declared != spec.DataType)
        {
            problems.Add($"{field}.data_type': is {dataType}, but the model's input '{spec.Name}' is {spec.DataType.ProtocolName}");
            return null;
        }

        // A batched model's first dimension is the batch; the sample gives the shape of one item.
        var itemShape = model.IsBatched ? spec.Shape[1..] : spec.Shape;
        var dims = input.Dims ?? itemShape;
        if (dims.Length != itemShape.Length || dims.Where((d, i) => itemShape[i] >= 0 && itemShape[i] != d).Any() || dims.Any(d => d < 0))
        {
            problems.Add(input.Dims is null
                ? $"{field}.dims': required, as the model's input '{spec.Name}' has the dynamic shape [{string.Join(", ", itemShape)}]"
                : $"{field}.dims': [{string.Join(", ", dims)}] does not fit the model's input '{spec.Name}' of shape [{string.Join(", ", itemShape)}]" +
                  (model.IsBatched ? " (one item, without the batch dimension)" : ""));
            return null;
        }

        long[] shape = model.IsBatched ? [batchSize, .. dims] : dims;
        var itemElements = 1L;
        foreach (var dimension in dims)
        {
            itemElements *= dimension;
        }

        byte[]? file = null;
        if (input.InputDataFile is { } name)
        {
            var path = Path.Combine(definition.Directory, FolderName, name);
            if (!File.Exists(path))
            {
                problems.Add($"{field}.input_data_file': {path} does not exist");
                return null;
            }

            file = File.ReadAllBytes(path);
            if (spec.ElementType != TensorElementType.String && file.LongLength != itemElements * spec.DataType.ElementSize)
            {
                problems.Add($"{field}.input_data_file': {path} holds {file.LongLength} bytes; one item of '{spec.Name}' ({spec.DataType.ProtocolName} [{string.Join(", ", dims)}]) is {itemElements * spec.DataType.ElementSize}");
                return null;
            }
        }

        if (spec.ElementType == TensorElementType.String)
        {
            return BuildStrings(shape, itemElements, input, file, field, problems);
        }

        var value = Allocate(spec.ElementType, shape);
        var bytes = value.GetTensorMutableRawData();
        if (file is not null)
        {
            for (var offset = 0; offset < bytes.Length; offset += file.Length)
            {
                file.CopyTo(bytes[offset..]);
            }
        }
        else if (input.RandomData)
        {
            FillRandom(spec.ElementType, bytes);
        }

        return value;
    }

    private static OrtValue? BuildStrings(long[] shape, long itemElements, ModelWarmupInput input, byte[]? file, string field, List<string> problems)
    {
        string[] item;
        if (file is not null)
        {
            var elements = new List<string>();
            var data = file.AsSpan();
            while (data.Length >= sizeof(uint))
            {
                var length = BinaryPrimitives.ReadUInt32LittleEndian(data);
                if (length > data.Length - sizeof(uint))
                {
                    break;
                }

                elements.Add(System.Text.Encoding.UTF8.GetString(data.Slice(sizeof(uint), (int)length)));
                data = data[(sizeof(uint) + (int)length)..];
            }

            if (data.Length != 0 || elements.Count != itemElements)
            {
                problems.Add($"{field}.input_data_file': holds {elements.Count} BYTES elements{(data.Length != 0 ? " and a cut one" : "")}; one item has {itemElements}, each a 4-byte length then its bytes");
                return null;
            }

            item = [.. elements];
        }
        else
        {
            item = new string[itemElements];
            for (var i = 0; i < item.Length; i++)
            {
                item[i] = input.RandomData ? Random.Shared.Next(0, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
            }
        }

        var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
        var total = 1L;
        foreach (var dimension in shape)
        {
            total *= dimension;
        }

        for (var i = 0; i < total; i++)
        {
            value.StringTensorSetElementAt(item[i % item.Length].AsSpan(), i);
        }

        return value;
    }

    private static OrtValue Allocate(TensorElementType elementType, long[] shape)
    {
        if (elementType == TensorElementType.String)
        {
            return OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
        }

        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, elementType, shape);
        value.GetTensorMutableRawData().Clear();
        return value;
    }

    /// <summary>Random values of the type: floats in [0, 1), integers in [0, 100), booleans either.</summary>
    private static void FillRandom(TensorElementType elementType, Span<byte> bytes)
    {
        var random = Random.Shared;
        switch (elementType)
        {
            case TensorElementType.Float:
                foreach (ref var value in MemoryMarshal.Cast<byte, float>(bytes))
                {
                    value = random.NextSingle();
                }

                break;
            case TensorElementType.Double:
                foreach (ref var value in MemoryMarshal.Cast<byte, double>(bytes))
                {
                    value = random.NextDouble();
                }

                break;
            case TensorElementType.Float16:
                foreach (ref var value in MemoryMarshal.Cast<byte, Half>(bytes))
                {
                    value = (Half)random.NextSingle();
                }

                break;
            case TensorElementType.Bool:
                foreach (ref var value in bytes)
                {
                    value = (byte)random.Next(2);
                }

                break;
            default:
                // Every integer type, little-endian: a value below 100 in the low byte, zeros above it.
                var width = elementType switch
                {
                    TensorElementType.UInt8 or TensorElementType.Int8 => 1,
                    TensorElementType.UInt16 or TensorElementType.Int16 => 2,
                    TensorElementType.UInt32 or TensorElementType.Int32 => 4,
                    _ => 8,
                };
                for (var offset = 0; offset < bytes.Length; offset += width)
                {
                    bytes[offset] = (byte)random.Next(100);
                }

                break;
        }
    }

    private static bool TryParseDataType(string name, out TensorDataType dataType) =>
        TensorDataTypes.TryParse(name.StartsWith("TYPE_", StringComparison.Ordinal) ? TritonName(name[5..]) : name, out dataType);

    /// <summary>Triton's config names a few types differently from the protocol: TYPE_STRING is BYTES.</summary>
    private static string TritonName(string name) => name == "STRING" ? "BYTES" : name;

    private static bool IsInsideWarmUpFolder(string file)
    {
        if (file.Length == 0 || Path.IsPathRooted(file))
        {
            return false;
        }

        var root = Path.GetFullPath(Path.Combine("/", FolderName)) + Path.DirectorySeparatorChar;
        return Path.GetFullPath(Path.Combine(root, file)).StartsWith(root, StringComparison.Ordinal);
    }
}
