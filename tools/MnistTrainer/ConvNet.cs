namespace MlPlatform.MnistTrainer;

/// <summary>
/// conv 5x5 (1→16) → ReLU → max-pool 2 → conv 5x5 (16→32) → ReLU → max-pool 2 → dense 512→10 → softmax.
/// All parameters live in one flat array so that gradient reduction and the optimiser are plain loops;
/// each block has the memory layout ONNX expects (conv weights [out, in, kh, kw], dense [out, in]).
/// </summary>
internal sealed class ConvNet
{
    public const int ImageSize = 28;
    public const int Kernel = 5;
    public const int KernelArea = Kernel * Kernel;
    public const int Conv1Channels = 16;
    public const int Conv2Channels = 32;
    public const int Classes = 10;

    public const int Conv1Size = ImageSize - Kernel + 1;       // 24
    public const int Pool1Size = Conv1Size / 2;                // 12
    public const int Conv2Size = Pool1Size - Kernel + 1;       // 8
    public const int Pool2Size = Conv2Size / 2;                // 4

    public const int Conv1Area = Conv1Size * Conv1Size;
    public const int Pool1Area = Pool1Size * Pool1Size;
    public const int Conv2Area = Conv2Size * Conv2Size;
    public const int Pool2Area = Pool2Size * Pool2Size;
    public const int Conv2Inputs = Conv1Channels * KernelArea; // 400
    public const int Features = Conv2Channels * Pool2Area;     // 512

    public const int Conv1WeightOffset = 0;
    public const int Conv1WeightLength = Conv1Channels * KernelArea;
    public const int Conv1BiasOffset = Conv1WeightOffset + Conv1WeightLength;
    public const int Conv2WeightOffset = Conv1BiasOffset + Conv1Channels;
    public const int Conv2WeightLength = Conv2Channels * Conv2Inputs;
    public const int Conv2BiasOffset = Conv2WeightOffset + Conv2WeightLength;
    public const int DenseWeightOffset = Conv2BiasOffset + Conv2Channels;
    public const int DenseWeightLength = Classes * Features;
    public const int DenseBiasOffset = DenseWeightOffset + DenseWeightLength;
    public const int ParameterCount = DenseBiasOffset + Classes;

    /// <summary>He-normal weights for the ReLU layers, Glorot-scaled for the dense layer, zero biases.</summary>
    public static float[] InitialParameters(DeterministicRandom random)
    {
        var parameters = new float[ParameterCount];
        Fill(parameters.AsSpan(Conv1WeightOffset, Conv1WeightLength), Math.Sqrt(2.0 / KernelArea), random);
        Fill(parameters.AsSpan(Conv2WeightOffset, Conv2WeightLength), Math.Sqrt(2.0 / Conv2Inputs), random);
        Fill(parameters.AsSpan(DenseWeightOffset, DenseWeightLength), Math.Sqrt(2.0 / (Features + Classes)), random);
        return parameters;
    }

    /// <summary>Runs one normalised image through the network; the class probabilities end up in <see cref="Workspace.Probabilities"/>.</summary>
    public static void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> image, Workspace ws)
    {
        // conv1 as a matrix product over an im2col buffer: cols1[k][p] is the pixel under kernel tap k at output p.
        for (var k = 0; k < KernelArea; k++)
        {
            int ky = k / Kernel, kx = k % Kernel;
            for (var y = 0; y < Conv1Size; y++)
            {
                image.Slice(((y + ky) * ImageSize) + kx, Conv1Size).CopyTo(ws.Cols1.AsSpan((k * Conv1Area) + (y * Conv1Size), Conv1Size));
            }
        }

        Convolve(parameters, Conv1WeightOffset, Conv1BiasOffset, Conv1Channels, KernelArea, Conv1Area, ws.Cols1, ws.Conv1);
        MaxPool(ws.Conv1, Conv1Channels, Conv1Size, ws.Pool1, ws.Pool1Source);

        for (var c = 0; c < Conv1Channels; c++)
        {
            for (var k = 0; k < KernelArea; k++)
            {
                int ky = k / Kernel, kx = k % Kernel;
                var row = (c * KernelArea) + k;
                for (var y = 0; y < Conv2Size; y++)
                {
                    ws.Pool1.AsSpan((c * Pool1Area) + ((y + ky) * Pool1Size) + kx, Conv2Size)
                        .CopyTo(ws.Cols2.AsSpan((row * Conv2Area) + (y * Conv2Size), Conv2Size));
                }
            }
        }

        Convolve(parameters, Conv2WeightOffset, Conv2BiasOffset, Conv2Channels, Conv2Inputs, Conv2Area, ws.Cols2, ws.Conv2);
        MaxPool(ws.Conv2, Conv2Channels, Conv2Size, ws.Pool2, ws.Pool2Source);

        var logits = ws.Probabilities.AsSpan();
        for (var o = 0; o < Classes; o++)
        {
            logits[o] = parameters[DenseBiasOffset + o] + VectorMath.Dot(parameters.Slice(DenseWeightOffset + (o * Features), Features), ws.Pool2);
        }

        Softmax(logits);
    }

    /// <summary>
    /// Adds the cross-entropy gradient of the last <see cref="Forward"/>, times <paramref name="scale"/>, to <paramref name="gradient"/>.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> parameters, Workspace ws, int label, float scale, Span<float> gradient)
    {
        Span<float> dLogits = stackalloc float[Classes];
        for (var o = 0; o < Classes; o++)
        {
            dLogits[o] = (ws.Probabilities[o] - (o == label ? 1f : 0f)) * scale;
        }

        var dPool2 = ws.DPool2.AsSpan();
        dPool2.Clear();
        for (var o = 0; o < Classes; o++)
        {
            VectorMath.Axpy(dLogits[o], ws.Pool2, gradient.Slice(DenseWeightOffset + (o * Features), Features));
            gradient[DenseBiasOffset + o] += dLogits[o];
            VectorMath.Axpy(dLogits[o], parameters.Slice(DenseWeightOffset + (o * Features), Features), dPool2);
        }

        UnPool(dPool2, ws.Pool2Source, ws.Conv2, ws.DConv2);
        ConvolveBackward(Conv2WeightOffset, Conv2BiasOffset, Conv2Channels, Conv2Inputs, Conv2Area, ws.Cols2, ws.DConv2, gradient);

        // Gradient with respect to cols2, then scattered back onto pool1 (col2im).
        var dCols2 = ws.DCols2.AsSpan();
        dCols2.Clear();
        for (var f = 0; f < Conv2Channels; f++)
        {
            var dOut = ws.DConv2.AsSpan(f * Conv2Area, Conv2Area);
            var weights = parameters.Slice(Conv2WeightOffset + (f * Conv2Inputs), Conv2Inputs);
            for (var row = 0; row < Conv2Inputs; row++)
            {
                VectorMath.Axpy(weights[row], dOut, dCols2.Slice(row * Conv2Area, Conv2Area));
            }
        }

        var dPool1 = ws.DPool1.AsSpan();
        dPool1.Clear();
        for (var c = 0; c < Conv1Channels; c++)
        {
            for (var k = 0; k < KernelArea; k++)
            {
                int ky = k / Kernel, kx = k % Kernel;
                var row = (c * KernelArea) + k;
                for (var y = 0; y < Conv2Size; y++)
                {
                    VectorMath.Add(
                        dCols2.Slice((row * Conv2Area) + (y * Conv2Size), Conv2Size),
                        dPool1.Slice((c * Pool1Area) + ((y + ky) * Pool1Size) + kx, Conv2Size));
                }
            }
        }

        UnPool(dPool1, ws.Pool1Source, ws.Conv1, ws.DConv1);
        ConvolveBackward(Conv1WeightOffset, Conv1BiasOffset, Conv1Channels, KernelArea, Conv1Area, ws.Cols1, ws.DConv1, gradient);
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static void Fill(Span<float> weights, double std, DeterministicRandom random)
    {
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = (float)(random.NextGaussian() * std);
        }
    }

    // output[f][p] = relu(bias[f] + sum_k weight[f][k] * cols[k][p])
    private static void Convolve(ReadOnlySpan<float> parameters, int weightOffset, int biasOffset, int channels, int inputs, int area, float[] cols, float[] output)
    {
        for (var f = 0; f < channels; f++)
        {
            var row = output.AsSpan(f * area, area);
            row.Fill(parameters[biasOffset + f]);
            var weights = parameters.Slice(weightOffset + (f * inputs), inputs);
            for (var k = 0; k < inputs; k++)
            {
                VectorMath.Axpy(weights[k], cols.AsSpan(k * area, area), row);
            }

            for (var p = 0; p < row.Length; p++)
            {
                row[p] = MathF.Max(row[p], 0f);
            }
        }
    }

    private static void ConvolveBackward(int weightOffset, int biasOffset, int channels, int inputs, int area, float[] cols, float[] dOutput, Span<float> gradient)
    {
        for (var f = 0; f < channels; f++)
        {
            var dOut = dOutput.AsSpan(f * area, area);
            gradient[biasOffset + f] += VectorMath.Sum(dOut);
            var dWeights = gradient.Slice(weightOffset + (f * inputs), inputs);
            for (var k = 0; k < inputs; k++)
            {
                dWeights[k] += VectorMath.Dot(dOut, cols.AsSpan(k * area, area));
            }
        }
    }

    // 2x2, stride 2; remembers which input won so the gradient can be routed back to it.
    private static void MaxPool(float[] input, int channels, int size, float[] output, int[] source)
    {
        var half = size / 2;
        for (var c = 0; c < channels; c++)
        {
            for (var y = 0; y < half; y++)
            {
                for (var x = 0; x < half; x++)
                {
                    var best = (c * size * size) + (2 * y * size) + (2 * x);
                    var candidates = (ReadOnlySpan<int>)[best + 1, best + size, best + size + 1];
                    foreach (var candidate in candidates)
                    {
                        if (input[candidate] > input[best])
                        {
                            best = candidate;
                        }
                    }

                    var o = (c * half * half) + (y * half) + x;
                    output[o] = input[best];
                    source[o] = best;
                }
            }
        }
    }

    // Routes pooled gradients to the winning input; a winner of 0 was cut off by the ReLU and gets none.
    private static void UnPool(ReadOnlySpan<float> dPooled, int[] source, float[] activations, float[] dInput)
    {
        Array.Clear(dInput);
        for (var i = 0; i < dPooled.Length; i++)
        {
            var s = source[i];
            if (activations[s] > 0f)
            {
                dInput[s] = dPooled[i];
            }
        }
    }

    private static void Softmax(Span<float> values)
    {
        var max = values[ArgMax(values)];
        var total = 0f;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = MathF.Exp(values[i] - max);
            total += values[i];
        }

        for (var i = 0; i < values.Length; i++)
        {
            values[i] /= total;
        }
    }

    /// <summary>Per-thread activations and scratch buffers for one image.</summary>
    public sealed class Workspace
    {
        public float[] Cols1 { get; } = new float[KernelArea * Conv1Area];
        public float[] Conv1 { get; } = new float[Conv1Channels * Conv1Area];
        public float[] Pool1 { get; } = new float[Conv1Channels * Pool1Area];
        public int[] Pool1Source { get; } = new int[Conv1Channels * Pool1Area];
        public float[] Cols2 { get; } = new float[Conv2Inputs * Conv2Area];
        public float[] Conv2 { get; } = new float[Conv2Channels * Conv2Area];
        public float[] Pool2 { get; } = new float[Features];
        public int[] Pool2Source { get; } = new int[Features];
        public float[] Probabilities { get; } = new float[Classes];
        public float[] DPool2 { get; } = new float[Features];
        public float[] DConv2 { get; } = new float[Conv2Channels * Conv2Area];
        public float[] DCols2 { get; } = new float[Conv2Inputs * Conv2Area];
        public float[] DPool1 { get; } = new float[Conv1Channels * Pool1Area];
        public float[] DConv1 { get; } = new float[Conv1Channels * Conv1Area];
    }
}
