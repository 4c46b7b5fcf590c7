using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace MlPlatform.Bench;

/// <summary>
/// What a predict does, done in one process with no service in between: SkiaSharp decodes the JPEG, resizes its
/// shorter side to 256 (bilinear), the centre 224x224 is normalised into an NCHW float tensor, ONNX Runtime runs
/// the model, and a softmax and top 5 turn the logits into classes. The session has the settings the inference
/// service gives the model's config (Services/Inference/Repository/ServedModelLoader.cs). Each caller has its own
/// buffers, as each of a service's requests would.
/// </summary>
internal sealed class InProcessImageClassifier : IDisposable
{
    public const int TopK = 5;

    private static readonly string[] InputNames = [ImageClassifierModel.Input];
    private static readonly string[] OutputNames = [ImageClassifierModel.Output];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly List<Caller> _callers = [];

    // (level × scale - mean) / std as one multiply-add a channel.
    private readonly float[] _channelMultiplier = new float[ImageClassifierModel.Channels];
    private readonly float[] _channelOffset = new float[ImageClassifierModel.Channels];

    public InProcessImageClassifier(string modelPath)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = ImageClassifierModel.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(modelPath, options);
        for (var c = 0; c < ImageClassifierModel.Channels; c++)
        {
            _channelMultiplier[c] = ImageClassifierModel.PixelScale / ImageClassifierModel.Std[c];
            _channelOffset[c] = -ImageClassifierModel.Mean[c] / ImageClassifierModel.Std[c];
        }
    }

    /// <summary>One predict, for the labels it gives.</summary>
    public (string Label, float Score)[] PredictOnce(byte[] jpeg)
    {
        var caller = CallerAt(0);
        Predict(caller, jpeg);
        var top = new (string Label, float Score)[TopK];
        for (var i = 0; i < TopK; i++)
        {
            top[i] = (ImageClassifierModel.Label(caller.TopClasses[i]), caller.TopScores[i]);
        }

        return top;
    }

    /// <summary>
    /// <paramref name="callers"/> threads, each predicting again as soon as its predict returns, for
    /// <paramref name="duration"/>: the closed loop <see cref="LoadGenerator"/> runs against a service. Threads of
    /// their own rather than the thread pool, so all of them call from the first moment on.
    /// </summary>
    public LoadResult Run(byte[] jpeg, int callers, TimeSpan duration)
    {
        var latencies = new List<double>[callers];
        var threads = new Thread[callers];
        Exception? failure = null;
        for (var i = 0; i < callers; i++)
        {
            latencies[i] = new List<double>(4096);
        }

        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < callers; i++)
        {
            var caller = CallerAt(i);
            var mine = latencies[i];
            threads[i] = new Thread(() =>
            {
                try
                {
                    while (stopwatch.Elapsed < duration)
                    {
                        var started = Stopwatch.GetTimestamp();
                        Predict(caller, jpeg);
                        mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }
                catch (Exception exception)
                {
                    // Kept for the calling thread: an exception left on this one would end the process.
                    Interlocked.CompareExchange(ref failure, exception, null);
                }
            })
            { IsBackground = true, Name = $"in-process caller {i}" };
            threads[i].Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        var elapsed = stopwatch.Elapsed;
        if (failure is not null)
        {
            throw new InvalidOperationException($"An in-process predict failed: {failure.Message}", failure);
        }

        var count = 0;
        foreach (var list in latencies)
        {
            count += list.Count;
        }

        var all = new double[count];
        var offset = 0;
        foreach (var list in latencies)
        {
            list.CopyTo(all, offset);
            offset += list.Count;
        }

        Array.Sort(all);
        return new LoadResult(all.Length, 0, elapsed, Percentile(all, 0.5), Percentile(all, 0.99));
    }

    /// <summary>
    /// Milliseconds of one image's model run alone (no image work) at <paramref name="batchSize"/> on one thread:
    /// whether a batch makes an image cheaper, which says whether the in-process side loses by not batching.
    /// </summary>
    public double ModelMillisecondsPerImage(byte[] jpeg, int batchSize, TimeSpan duration)
    {
        var caller = CallerAt(0);
        Predict(caller, jpeg);
        var batch = new float[batchSize * ImageClassifierModel.ItemFloats];
        for (var item = 0; item < batchSize; item++)
        {
            caller.Tensor.CopyTo(batch, item * ImageClassifierModel.ItemFloats);
        }

        using var input = OrtValue.CreateTensorValueFromMemory(batch, ImageClassifierModel.Shape(batchSize));
        OrtValue[] inputs = [input];
        _session.Run(_runOptions, InputNames, inputs, OutputNames).Dispose();
        var runs = 0;
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < duration || runs == 0)
        {
            using var results = _session.Run(_runOptions, InputNames, inputs, OutputNames);
            runs++;
        }

        return stopwatch.Elapsed.TotalMilliseconds / (runs * batchSize);
    }

    public void Dispose()
    {
        foreach (var caller in _callers)
        {
            caller.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
    }

    // The same percentile LoadGenerator reports for a service.
    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];

    private Caller CallerAt(int index)
    {
        while (_callers.Count <= index)
        {
            _callers.Add(new Caller());
        }

        return _callers[index];
    }

    private void Predict(Caller caller, byte[] jpeg)
    {
        PrepareTensor(caller, jpeg);
        using var results = _session.Run(_runOptions, InputNames, caller.Inputs, OutputNames);
        SoftmaxTopK(results[0].GetTensorDataAsSpan<float>(), caller.TopClasses, caller.TopScores);
    }

    /// <summary>Milliseconds of one image's steps before the model (decode, resize, crop and normalise) alone, on one thread.</summary>
    public double ImageMillisecondsPerImage(byte[] jpeg, TimeSpan duration)
    {
        var caller = CallerAt(0);
        PrepareTensor(caller, jpeg);
        return CallTimer.MicrosecondsPerCall(() => PrepareTensor(caller, jpeg), duration) / 1000;
    }

    private void PrepareTensor(Caller caller, byte[] jpeg)
    {
        using var data = SKData.CreateCopy(jpeg);
        using var codec = SKCodec.Create(data) ?? throw new InvalidOperationException("SkiaSharp cannot read the image");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        using var decoded = SKBitmap.Decode(codec, new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque))
            ?? throw new InvalidOperationException("SkiaSharp cannot decode the image");

        var shorter = Math.Min(width, height);
        var resizedWidth = width == shorter ? ImageClassifierModel.ResizeShorterSide : (int)Math.Round((double)width * ImageClassifierModel.ResizeShorterSide / shorter);
        var resizedHeight = height == shorter ? ImageClassifierModel.ResizeShorterSide : (int)Math.Round((double)height * ImageClassifierModel.ResizeShorterSide / shorter);
        var resized = caller.ResizedBitmap(resizedWidth, resizedHeight);
        if (!decoded.ScalePixels(resized, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None)))
        {
            throw new InvalidOperationException("SkiaSharp cannot resize the image");
        }

        WriteCentreCrop(resized, caller.Tensor);
    }

    /// <summary>The centre 224x224 of the resized image, normalised into planes R, G, B: the crop costs nothing, it is where the reads start.</summary>
    private void WriteCentreCrop(SKBitmap resized, float[] tensor)
    {
        const int side = ImageClassifierModel.Side;
        const int plane = side * side;
        ReadOnlySpan<byte> pixels = resized.GetPixelSpan();
        var rowBytes = resized.RowBytes;
        var left = (resized.Width - side) / 2;
        var top = (resized.Height - side) / 2;
        var (redMultiplier, greenMultiplier, blueMultiplier) = (_channelMultiplier[0], _channelMultiplier[1], _channelMultiplier[2]);
        var (redOffset, greenOffset, blueOffset) = (_channelOffset[0], _channelOffset[1], _channelOffset[2]);
        var red = tensor.AsSpan(0, plane);
        var green = tensor.AsSpan(plane, plane);
        var blue = tensor.AsSpan(2 * plane, plane);
        for (var y = 0; y < side; y++)
        {
            var row = pixels.Slice(((top + y) * rowBytes) + (left * 4), side * 4);
            var start = y * side;
            for (var x = 0; x < side; x++)
            {
                red[start + x] = (row[x * 4] * redMultiplier) + redOffset;
                green[start + x] = (row[(x * 4) + 1] * greenMultiplier) + greenOffset;
                blue[start + x] = (row[(x * 4) + 2] * blueMultiplier) + blueOffset;
            }
        }
    }

    /// <summary>The <c>classes.Length</c> best classes, best first, and their softmax probabilities.</summary>
    private static void SoftmaxTopK(ReadOnlySpan<float> logits, int[] classes, float[] scores)
    {
        var max = float.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++)
        {
            max = Math.Max(max, logits[i]);
        }

        var sum = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            sum += Math.Exp(logits[i] - max);
        }

        var best = scores.Length;
        for (var k = 0; k < best; k++)
        {
            classes[k] = -1;
            scores[k] = float.NegativeInfinity;
        }

        // Insertion into the few best, best first: one comparison for nearly every logit.
        for (var i = 0; i < logits.Length; i++)
        {
            var logit = logits[i];
            if (logit <= scores[best - 1])
            {
                continue;
            }

            var slot = best - 1;
            while (slot > 0 && scores[slot - 1] < logit)
            {
                scores[slot] = scores[slot - 1];
                classes[slot] = classes[slot - 1];
                slot--;
            }

            scores[slot] = logit;
            classes[slot] = i;
        }

        for (var k = 0; k < best; k++)
        {
            scores[k] = (float)(Math.Exp(scores[k] - max) / sum);
        }
    }

    /// <summary>One caller's buffers: its tensor and the ONNX Runtime value over it, its resized image and its top classes.</summary>
    private sealed class Caller : IDisposable
    {
        private SKBitmap? _resized;

        public Caller()
        {
            Input = OrtValue.CreateTensorValueFromMemory(Tensor, ImageClassifierModel.Shape(1));
            Inputs = [Input];
        }

        public float[] Tensor { get; } = new float[ImageClassifierModel.ItemFloats];

        public OrtValue Input { get; }

        public OrtValue[] Inputs { get; }

        public int[] TopClasses { get; } = new int[TopK];

        public float[] TopScores { get; } = new float[TopK];

        public SKBitmap ResizedBitmap(int width, int height)
        {
            if (_resized is null || _resized.Width != width || _resized.Height != height)
            {
                _resized?.Dispose();
                _resized = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            }

            return _resized;
        }

        public void Dispose()
        {
            Input.Dispose();
            _resized?.Dispose();
        }
    }
}
