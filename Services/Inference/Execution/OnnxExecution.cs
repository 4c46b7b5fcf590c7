using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Execution;

/// <summary>
/// Runs one or more jobs as one ONNX Runtime execution: their inputs are concatenated along the
/// first dimension into native tensors, and each output is split back by rows. The three phases, building the inputs,
/// the run and reading the outputs, are timed apart for the statistics.
/// </summary>
internal static class OnnxExecution
{
    /// <summary>Runs the jobs and ends each through <paramref name="recorder"/>, with its outputs or its error; never throws.</summary>
    public static void Run(ServedModel model, IReadOnlyList<InferenceJob> jobs, ExecutionRecorder recorder)
    {
        try
        {
            RunOnce(model, jobs, recorder);
        }
        catch (OnnxRuntimeException) when (jobs.Count > 1)
        {
            // One request's values (an index out of range, say) fail the whole batch; run each alone
            // so only that request fails.
            foreach (var job in jobs)
            {
                Run(model, [job], recorder);
            }
        }
        catch (OnnxRuntimeException exception)
        {
            recorder.Fail(jobs[0], new InferenceExecutionException($"model '{model.Name}' version {model.VersionText} failed to run: {exception.Message}"));
        }
        catch (Exception exception)
        {
            foreach (var job in jobs)
            {
                recorder.Fail(job, exception);
            }
        }
    }

    private static void RunOnce(ServedModel model, IReadOnlyList<InferenceJob> jobs, ExecutionRecorder recorder)
    {
        var started = recorder.Now();
        var inputCount = model.Inputs.Count;
        var inputNames = new string[inputCount];
        var inputValues = new OrtValue[inputCount];
        var inputBuffers = new PinnedInput[inputCount];
        var totalBatch = 0;
        foreach (var job in jobs)
        {
            totalBatch += job.BatchSize;
        }

        try
        {
            for (var i = 0; i < inputCount; i++)
            {
                inputNames[i] = model.Inputs[i].Name;
                inputValues[i] = CreateInput(model.Inputs[i], jobs, i, totalBatch, out inputBuffers[i]);
            }

            var outputNames = CollectOutputNames(model, jobs);
            var inputsReady = recorder.Now();
            using var results = model.Session.Run(model.RunOptions, inputNames, inputValues, outputNames);
            var inferred = recorder.Now();

            // Every response is built before any job completes, so an execution either counts whole, with each of
            // its requests, or fails whole.
            var responses = ArrayPool<InferenceResponse>.Shared.Rent(jobs.Count);
            var built = 0;
            try
            {
                var offset = 0;
                for (; built < jobs.Count; built++)
                {
                    responses[built] = CreateResponse(model, jobs[built], outputNames, results, offset, jobs.Count > 1);
                    offset += jobs[built].BatchSize;
                }
            }
            catch
            {
                for (var i = 0; i < built; i++)
                {
                    responses[i].Dispose();
                }

                ArrayPool<InferenceResponse>.Shared.Return(responses, clearArray: true);
                throw;
            }

            var times = new ExecutionTimestamps(started, inputsReady, inferred, recorder.Now());
            recorder.Executed(totalBatch, times);
            for (var i = 0; i < jobs.Count; i++)
            {
                recorder.Complete(jobs[i], responses[i], times);
            }

            ArrayPool<InferenceResponse>.Shared.Return(responses, clearArray: true);
        }
        finally
        {
            foreach (var value in inputValues)
            {
                value?.Dispose();
            }

            // Only once no OrtValue points into them any more.
            foreach (var buffer in inputBuffers)
            {
                buffer.Dispose();
            }
        }
    }

    private static OrtValue CreateInput(TensorSpec spec, IReadOnlyList<InferenceJob> jobs, int inputIndex, int totalBatch, out PinnedInput buffer)
    {
        buffer = default;
        var shape = (long[])jobs[0].Inputs[inputIndex].Shape.Clone();
        if (jobs.Count > 1)
        {
            shape[0] = totalBatch;
        }

        if (spec.ElementType == TensorElementType.String)
        {
            var strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            var index = 0;
            foreach (var job in jobs)
            {
                var data = job.Inputs[inputIndex].Data.Span;
                while (data.Length >= sizeof(uint))
                {
                    var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                    strings.StringTensorSetElementAt(data.Slice(sizeof(uint), length), index++);
                    data = data[(sizeof(uint) + length)..];
                }
            }

            return strings;
        }

        var bytes = 0;
        foreach (var job in jobs)
        {
            bytes += job.Inputs[inputIndex].Data.Length;
        }

        if (bytes == 0)
        {
            return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, spec.ElementType, shape);
        }

        // The batch is assembled in a pooled array that ONNX Runtime reads in place: a native tensor allocated afresh for
        // each execution (up to max_batch_size requests' inputs, megabytes for an image model) had its pages zeroed by
        // the kernel every time.
        buffer = PinnedInput.Rent(bytes);
        var destination = buffer.Span;
        foreach (var job in jobs)
        {
            var source = job.Inputs[inputIndex].Data.Span;
            source.CopyTo(destination);
            destination = destination[source.Length..];
        }

        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, spec.ElementType, shape, buffer.Address, bytes);
    }

    /// <summary>A pooled array pinned while ONNX Runtime reads an input from it.</summary>
    private struct PinnedInput : IDisposable
    {
        private byte[]? _array;
        private GCHandle _handle;
        private int _length;

        public readonly Span<byte> Span => _array.AsSpan(0, _length);

        public readonly IntPtr Address => _handle.AddrOfPinnedObject();

        public static PinnedInput Rent(int length)
        {
            var array = ArrayPool<byte>.Shared.Rent(length);
            return new PinnedInput { _array = array, _handle = GCHandle.Alloc(array, GCHandleType.Pinned), _length = length };
        }

        public void Dispose()
        {
            if (_array is { } array)
            {
                _handle.Free();
                _array = null;
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }

    private static string[] CollectOutputNames(ServedModel model, IReadOnlyList<InferenceJob> jobs)
    {
        if (jobs.Count == 1)
        {
            return jobs[0].OutputNames;
        }

        var names = new List<string>(model.Outputs.Count);
        foreach (var output in model.Outputs)
        {
            foreach (var job in jobs)
            {
                if (Array.IndexOf(job.OutputNames, output.Name) >= 0)
                {
                    names.Add(output.Name);
                    break;
                }
            }
        }

        return [.. names];
    }

    private static InferenceResponse CreateResponse(
        ServedModel model, InferenceJob job, string[] runOutputNames, IReadOnlyList<OrtValue> results, int rowOffset, bool split)
    {
        var buffers = new PooledBuffers();
        try
        {
            var outputs = new InferenceTensor[job.OutputNames.Length];
            for (var i = 0; i < outputs.Length; i++)
            {
                var name = job.OutputNames[i];
                var value = results[Array.IndexOf(runOutputNames, name)];
                var spec = FindOutput(model, name);
                outputs[i] = split
                    ? SliceOutput(spec, value, rowOffset, job.BatchSize, buffers)
                    : SliceOutput(spec, value, 0, -1, buffers);
            }

            return new InferenceResponse
            {
                ModelName = model.Name,
                ModelVersion = model.VersionText,
                Id = job.Request.Id,
                Parameters = job.Request.Parameters,
                Outputs = outputs,
                Resources = buffers,
            };
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
    }

    private static TensorSpec FindOutput(ServedModel model, string name)
    {
        foreach (var output in model.Outputs)
        {
            if (output.Name == name)
            {
                return output;
            }
        }

        throw new InvalidOperationException($"Output '{name}' was validated but is not in the model.");
    }

    /// <summary>Copies rows [<paramref name="rowOffset"/>, +<paramref name="rowCount"/>) of an output, or all of it when the count is -1.</summary>
    private static InferenceTensor SliceOutput(TensorSpec spec, OrtValue value, int rowOffset, int rowCount, PooledBuffers buffers)
    {
        var typeAndShape = value.GetTensorTypeAndShape();
        var shape = typeAndShape.Shape;
        var elementCount = typeAndShape.ElementCount;

        long firstElement = 0;
        if (rowCount >= 0)
        {
            var rows = shape.Length == 0 ? 1 : shape[0];
            var elementsPerRow = rows == 0 ? 0 : elementCount / rows;
            firstElement = rowOffset * elementsPerRow;
            elementCount = rowCount * elementsPerRow;
            shape = (long[])shape.Clone();
            shape[0] = rowCount;
        }

        Memory<byte> data;
        if (spec.ElementType == TensorElementType.String)
        {
            var length = 0;
            for (var i = 0; i < elementCount; i++)
            {
                length += sizeof(uint) + value.GetStringElementAsSpan((int)(firstElement + i)).Length;
            }

            data = buffers.Rent(length).AsMemory(0, length);
            var destination = data.Span;
            for (var i = 0; i < elementCount; i++)
            {
                var element = value.GetStringElementAsSpan((int)(firstElement + i));
                BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)element.Length);
                element.CopyTo(destination[sizeof(uint)..]);
                destination = destination[(sizeof(uint) + element.Length)..];
            }
        }
        else
        {
            var elementSize = spec.DataType.ElementSize;
            var source = value.GetTensorMutableRawData().Slice((int)(firstElement * elementSize), (int)(elementCount * elementSize));
            data = buffers.Rent(source.Length).AsMemory(0, source.Length);
            source.CopyTo(data.Span);
        }

        return new InferenceTensor { Name = spec.Name, DataType = spec.DataType, Shape = shape, Data = data };
    }
}
