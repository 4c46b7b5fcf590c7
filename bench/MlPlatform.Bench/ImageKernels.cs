using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Preprocessing.Config;
using MlPlatform.Preprocessing.Imaging;
using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Bench;

/// <summary>
/// The preprocessing steps' per-pixel kernels, TensorPrimitives against hand loops, in one process: each kernel is
/// called as its step calls it, on the image the mnist steps hand that step for a 280x280 and a 640x480 drawing,
/// the two sides alternating, and their results compared bit for bit. The hand loops are those the steps had before
/// TensorPrimitives, or, where they still have them, the steps' own.
/// </summary>
internal static class ImageKernels
{
    public const string Id = "image-kernels";

    private static readonly (int Width, int Height)[] Sizes = [(280, 280), (640, 480)];

    public static Task RunAsync(BenchSettings settings)
    {
        var preprocess = MnistPreprocess();
        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Each kernel of the mnist preprocess steps (`models/mnist/config.json`) called as its step calls it, on the image that step receives for a held-out digit drawn black on white; the hand loop and TensorPrimitives alternate, {settings.Rounds * 2 + 1} rounds of {RoundTime(settings).TotalMilliseconds:F0} ms each, median time for all the step's calls on one image. \"Ships\" is what the step uses now; \"same\" compares the two results bit for bit. Release build, System.Numerics.Tensors {typeof(TensorPrimitives).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]}, {(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "256" : "128")}-bit vectors.")
            .AppendLine();

        foreach (var (width, height) in Sizes)
        {
            var png = Drawing(width, height);
            using var stages = Stages.Capture(png, preprocess);
            body.AppendLine(CultureInfo.InvariantCulture, $"**{width}x{height}** (decoded {stages.Source.Width}x{stages.Source.Height}, worked on at {stages.Decoded.Width}x{stages.Decoded.Height}, cropped to ink {stages.Cropped.Width}x{stages.Cropped.Height}, fitted {stages.Fitted.Width}x{stages.Fitted.Height})")
                .AppendLine()
                .AppendLine("| step | kernel | ships | hand loop µs | TensorPrimitives µs | new/old | same |")
                .AppendLine("| --- | --- | --- | ---: | ---: | ---: | --- |");

            double shippedOld = 0, shippedNew = 0;
            foreach (var kernel in Kernels(stages, preprocess))
            {
                var (old, @new) = Measure(kernel, settings);
                var same = kernel.SameResult();
                Console.WriteLine($"{width}x{height} {kernel.Step} {kernel.Name}: hand {old:F2} µs, TensorPrimitives {@new:F2} µs, {@new / old:F2}x, same {same}");
                body.AppendLine(CultureInfo.InvariantCulture, $"| {kernel.Step} | {kernel.Name} | {(kernel.ShipsTensorPrimitives ? "TensorPrimitives" : "hand loop")} | {old:F2} | {@new:F2} | {@new / old:F2} | {(same ? "yes" : "no")} |");
                if (kernel.ShipsTensorPrimitives)
                {
                    (shippedOld, shippedNew) = (shippedOld + old, shippedNew + @new);
                }
            }

            var pipeline = PipelineMicroseconds(png, preprocess, settings);
            Console.WriteLine($"{width}x{height} pipeline {pipeline:F0} µs");
            body.AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"The kernels that ship TensorPrimitives: **{shippedNew / shippedOld:F2}x** the hand loops' time ({shippedOld:F1} µs -> {shippedNew:F1} µs), of {pipeline:F0} µs for the whole preprocess of this image.")
                .AppendLine();
        }

        body.AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "Image step kernels: TensorPrimitives vs hand loops, mnist steps", body.ToString());
        return Task.CompletedTask;
    }

    private static FloatImage Copy(FloatImage image)
    {
        var copy = FloatImage.Create(image.Width, image.Height, image.Channels);
        image.Pixels.CopyTo(copy.Pixels);
        return copy;
    }

    private static TimeSpan RoundTime(BenchSettings settings) => TimeSpan.FromMilliseconds(settings.Quick ? 100 : 250);

    private static IEnumerable<Kernel> Kernels(Stages stages, PreprocessConfig preprocess)
    {
        var side = Math.Max(1, (int)MathF.Round(preprocess.Steps.OfType<RemoveBackgroundStep>().Single().Block * Math.Min(stages.Inverted.Width, stages.Inverted.Height)));
        var normalize = preprocess.Steps.OfType<NormalizeStep>().Single();
        var (gain, offset) = (normalize.Scale / normalize.Std[0], -normalize.Mean[0] / normalize.Std[0]);

        foreach (var kernel in Resampling("decode", stages.Source, stages.Decoded))
        {
            yield return kernel;
        }

        yield return new Kernel("invert", "255 - v", true, stages.Decoded, 0,
            (image, _) => HandLoops.Invert(image.Pixels),
            (image, _) => ImageSteps.Invert(image, onlyWhenLight: false));
        yield return new Kernel("remove_background", "minimum of each block's row", true, stages.Inverted, stages.Inverted.Height * ((stages.Inverted.Width + side - 1) / side),
            (image, result) => CellMinima<HandMin>(image, side, result),
            (image, result) => CellMinima<TensorMin>(image, side, result));
        yield return new Kernel("remove_background", "max(0, v - background)", false, stages.Inverted, 0,
            (image, _) => SubtractBackground(image, fused: true),
            (image, _) => SubtractBackground(image, fused: false));
        yield return new Kernel("autocontrast", "minimum and maximum", true, stages.Cleaned, 2,
            (image, result) => (result[0], result[1]) = (HandLoops.Min(image.Pixels), HandLoops.Max(image.Pixels)),
            (image, result) => (result[0], result[1]) = (TensorPrimitives.Min<float>(image.Pixels), TensorPrimitives.Max<float>(image.Pixels)));
        yield return new Kernel("autocontrast", "max(0, v - black) * gain", false, stages.Cleaned, 0,
            (image, _) => ImageSteps.Stretch(image.Pixels, 40, 1.25f),
            (image, _) => TensorStretch(image.Pixels, 40, 1.25f));
        foreach (var kernel in Resampling("fit", stages.Cropped, stages.Fitted))
        {
            yield return kernel;
        }

        yield return new Kernel("center_of_mass", "mass and moments (double)", true, stages.Fitted, 6,
            (image, result) => Store(HandLoops.Moments(image), result),
            (image, result) => Store(ImageSteps.Moments(image), result));
        yield return new Kernel("normalize", "v * gain + offset into the tensor", true, stages.Framed, stages.Framed.Pixels.Length,
            (image, result) => HandLoops.Normalize(image.Pixels, gain, offset, result),
            (image, result) =>
            {
                TensorPrimitives.Multiply(image.Pixels, gain, result);
                TensorPrimitives.Add(result, offset, result);
            });
    }

    /// <summary>The two passes of resampling <paramref name="source"/> to the size of <paramref name="target"/>, as the decoder and <see cref="Resampler"/> make them.</summary>
    private static IEnumerable<Kernel> Resampling(string step, FloatImage source, FloatImage target)
    {
        var columns = Resampler.Weights.Create(source.Width, target.Width);
        var rows = Resampler.Weights.Create(source.Height, target.Height);
        yield return new Kernel(step, "along x: a dot product per output", false, source, target.Width * source.Height,
            (image, result) => ResampleRows(image, columns, result, perWindowDot: false),
            (image, result) => ResampleRows(image, columns, result, perWindowDot: true));
        yield return new Kernel(step, "along y: target += row * weight", true, Across(source, columns), target.Pixels.Length,
            (image, result) => Accumulate<HandAddScaled>(image, rows, result),
            (image, result) => Accumulate<ShippedAddScaled>(image, rows, result));
    }

    /// <summary>The median time of each side, in µs, over rounds that alternate between them.</summary>
    private static (double Old, double New) Measure(Kernel kernel, BenchSettings settings)
    {
        using var oldWork = kernel.Work();
        using var newWork = kernel.Work();
        var oldResult = new float[kernel.ResultLength];
        var newResult = new float[kernel.ResultLength];
        // Enough calls for the JIT to reach its optimised tier on both sides before anything counts.
        CallTimer.MicrosecondsPerCall(() => kernel.Old(oldWork, oldResult), RoundTime(settings) * 2);
        CallTimer.MicrosecondsPerCall(() => kernel.New(newWork, newResult), RoundTime(settings) * 2);

        var old = new List<double>();
        var @new = new List<double>();
        for (var round = 0; round < (settings.Rounds * 2) + 1; round++)
        {
            old.Add(CallTimer.MicrosecondsPerCall(() => kernel.Old(oldWork, oldResult), RoundTime(settings)));
            @new.Add(CallTimer.MicrosecondsPerCall(() => kernel.New(newWork, newResult), RoundTime(settings)));
        }

        return (old.Median(t => t), @new.Median(t => t));
    }

    private static double PipelineMicroseconds(byte[] png, PreprocessConfig preprocess, BenchSettings settings)
    {
        var pipeline = new PreprocessPipeline("mnist", preprocess, maxBatchSize: 64);
        var destination = new float[pipeline.InstanceLength];
        CallTimer.MicrosecondsPerCall(() => pipeline.Run(png, long.MaxValue, destination), RoundTime(settings) * 2);
        return Enumerable.Range(0, (settings.Rounds * 2) + 1).Select(_ => CallTimer.MicrosecondsPerCall(() => pipeline.Run(png, long.MaxValue, destination), RoundTime(settings))).Median(t => t);
    }

    /// <summary>The preprocess section of <c>models/mnist/config.json</c>, parsed as the preprocessing service parses it.</summary>
    internal static PreprocessConfig MnistPreprocess() =>
        ParsePreprocess(File.ReadAllText(RepositoryPaths.InRoot("models", "mnist", "config.json")));

    /// <summary>The preprocess section of a model's config.json, parsed as the preprocessing service parses it.</summary>
    internal static PreprocessConfig ParsePreprocess(string configJson)
    {
        var config = System.Text.Json.JsonSerializer.Deserialize(configJson, ProtocolJsonContext.Default.ModelConfig)!;
        return PreprocessConfig.TryParse(config.Preprocess!.Value, config.MaxBatchSize, out var parsed, out var problems)
            ? parsed
            : throw new InvalidOperationException(string.Join("; ", problems));
    }

    /// <summary>A held-out 7 drawn black on white, as large as fits the shorter side, on a white page of the given size.</summary>
    private static byte[] Drawing(int width, int height)
    {
        var digit = HoldOutDigits.First(7);
        using var small = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = small.GetPixelSpan();
        for (var i = 0; i < digit.Pixels.Length; i++)
        {
            pixels[i] = (byte)Math.Round(255 * (1 - digit.Pixels[i]));
        }

        using var page = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(page))
        {
            canvas.Clear(SKColors.White);
            var side = Math.Min(width, height);
            using var image = SKImage.FromBitmap(small);
            canvas.DrawImage(image, SKRect.Create((width - side) / 2f, (height - side) / 2f, side, side), new SKSamplingOptions(SKFilterMode.Linear));
        }

        using var encoded = SKImage.FromBitmap(page).Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    /// <summary>Each row of <paramref name="image"/> resampled along x, as the decoder and <see cref="Resampler"/> do it first.</summary>
    private static FloatImage Across(FloatImage image, Resampler.Weights columns)
    {
        var across = FloatImage.Create(columns.Length, image.Height, 1);
        ResampleRows(image, columns, across.Pixels, perWindowDot: false);
        return across;
    }

    private static void ResampleRows(FloatImage image, Resampler.Weights columns, Span<float> result, bool perWindowDot)
    {
        for (var y = 0; y < image.Height; y++)
        {
            var target = result.Slice(y * columns.Length, columns.Length);
            if (!perWindowDot)
            {
                columns.ResampleGrey(image.Row(y), target);
                continue;
            }

            var row = image.Row(y);
            for (var x = 0; x < target.Length; x++)
            {
                var weights = columns.For(x);
                target[x] = TensorPrimitives.Dot(row.Slice(columns.Start[x], weights.Length), weights);
            }
        }
    }

    /// <summary>The resampler's pass along y: each output row the weighted sum of the rows it covers.</summary>
    private static void Accumulate<TAdd>(FloatImage across, Resampler.Weights rows, Span<float> result)
        where TAdd : IAddScaled
    {
        for (var y = 0; y < rows.Length; y++)
        {
            var target = result.Slice(y * across.Width, across.Width);
            target.Clear();
            var weights = rows.For(y);
            for (var k = 0; k < weights.Length; k++)
            {
                TAdd.Run(across.Row(rows.Start[y] + k), weights[k], target);
            }
        }
    }

    private static void CellMinima<TMin>(FloatImage image, int side, Span<float> result)
        where TMin : IMin
    {
        var cells = (image.Width + side - 1) / side;
        for (var y = 0; y < image.Height; y++)
        {
            var row = image.Row(y);
            for (var cell = 0; cell < cells; cell++)
            {
                var start = cell * side;
                result[(y * cells) + cell] = TMin.Run(row.Slice(start, Math.Min(side, image.Width - start)));
            }
        }
    }

    /// <summary>Every row less a background blended from two rows of levels, as the step blends two rows of block levels.</summary>
    private static void SubtractBackground(FloatImage image, bool fused)
    {
        var upper = image.Row(0);
        var lower = image.Row(image.Height - 1);
        var scratch = ArrayPool<float>.Shared.Rent(image.Width);
        try
        {
            for (var y = 0; y < image.Height; y++)
            {
                var row = image.Row(y);
                var down = (float)y / image.Height;
                if (fused)
                {
                    ImageSteps.SubtractBackground(row, upper, lower, down);
                    continue;
                }

                var background = scratch.AsSpan(0, row.Length);
                TensorPrimitives.Subtract(lower, upper, background);
                TensorPrimitives.MultiplyAdd(background, down, upper, background);
                TensorPrimitives.Subtract(row, background, row);
                TensorPrimitives.Max(row, 0f, row);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    private static void TensorStretch(Span<float> pixels, float black, float gain)
    {
        TensorPrimitives.Subtract(pixels, black, pixels);
        TensorPrimitives.Max(pixels, 0f, pixels);
        TensorPrimitives.Multiply(pixels, gain, pixels);
    }

    /// <summary>The three doubles in the float result, two floats each, so they are compared bit for bit with the rest.</summary>
    private static void Store((double Mass, double MomentX, double MomentY) moments, Span<float> result) =>
        (MemoryMarshal.Cast<float, double>(result)[0], MemoryMarshal.Cast<float, double>(result)[1], MemoryMarshal.Cast<float, double>(result)[2]) = moments;

    private interface IAddScaled
    {
        static abstract void Run(ReadOnlySpan<float> source, float weight, Span<float> target);
    }

    private interface IMin
    {
        static abstract float Run(ReadOnlySpan<float> levels);
    }

    private readonly struct HandAddScaled : IAddScaled
    {
        public static void Run(ReadOnlySpan<float> source, float weight, Span<float> target) => HandLoops.AddScaled(source, weight, target);
    }

    private readonly struct ShippedAddScaled : IAddScaled
    {
        public static void Run(ReadOnlySpan<float> source, float weight, Span<float> target) => Resampler.AddScaled(source, weight, target);
    }

    private readonly struct HandMin : IMin
    {
        public static float Run(ReadOnlySpan<float> levels) => HandLoops.Min(levels);
    }

    private readonly struct TensorMin : IMin
    {
        public static float Run(ReadOnlySpan<float> levels) => TensorPrimitives.Min(levels);
    }

    /// <summary>One kernel, on its own copy of the image its step receives.</summary>
    private sealed class Kernel(string step, string name, bool shipsTensorPrimitives, FloatImage input, int resultLength, Action<FloatImage, float[]> old, Action<FloatImage, float[]> @new)
    {
        public string Step { get; } = step;

        public string Name { get; } = name;

        public bool ShipsTensorPrimitives { get; } = shipsTensorPrimitives;

        /// <summary>Floats the kernel writes besides the image, or returns.</summary>
        public int ResultLength { get; } = resultLength;

        public Action<FloatImage, float[]> Old { get; } = old;

        public Action<FloatImage, float[]> New { get; } = @new;

        public FloatImage Work() => Copy(input);

        /// <summary>Whether one call of each, on fresh copies, leaves the same bits in the image and the result.</summary>
        public bool SameResult()
        {
            using var oldWork = Work();
            using var newWork = Work();
            var (oldResult, newResult) = (new float[ResultLength], new float[ResultLength]);
            Old(oldWork, oldResult);
            New(newWork, newResult);
            return MemoryMarshal.AsBytes(oldWork.Pixels).SequenceEqual(MemoryMarshal.AsBytes(newWork.Pixels))
                && MemoryMarshal.AsBytes(oldResult.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(newResult.AsSpan()));
        }
    }

    /// <summary>The image each mnist step receives, from the service's own decoder and steps.</summary>
    private sealed class Stages : IDisposable
    {
        private Stages(FloatImage source, FloatImage decoded, FloatImage inverted, FloatImage cleaned, FloatImage cropped, FloatImage fitted, FloatImage framed)
        {
            (Source, Decoded, Inverted, Cleaned, Cropped, Fitted, Framed) = (source, decoded, inverted, cleaned, cropped, fitted, framed);
        }

        /// <summary>The drawing at its full size, as the decoder reduces it.</summary>
        public FloatImage Source { get; }

        public FloatImage Decoded { get; }

        public FloatImage Inverted { get; }

        public FloatImage Cleaned { get; }

        public FloatImage Cropped { get; }

        public FloatImage Fitted { get; }

        public FloatImage Framed { get; }

        public static Stages Capture(byte[] png, PreprocessConfig preprocess)
        {
            var decode = preprocess.Steps.OfType<DecodeStep>().Single();
            var source = ImageDecoder.Decode(png, int.MaxValue, decode.Background, grayscale: true, long.MaxValue, out _);
            var decoded = ImageDecoder.Decode(png, decode.MinSide ?? 4 * Math.Max(preprocess.Width, preprocess.Height), decode.Background, grayscale: true, long.MaxValue, out _);
            var inverted = ImageSteps.Invert(Copy(decoded), preprocess.Steps.OfType<InvertStep>().Single().When == InvertStep.LightBackground);
            var cleaned = ImageSteps.RemoveBackground(Copy(inverted), preprocess.Steps.OfType<RemoveBackgroundStep>().Single().Block);
            var contrasted = ImageSteps.Autocontrast(Copy(cleaned), preprocess.Steps.OfType<AutocontrastStep>().Single().Cutoff);
            var cropped = ImageSteps.CropToInk(contrasted, preprocess.Steps.OfType<CropToInkStep>().Single().Threshold);
            var fit = preprocess.Steps.OfType<FitStep>().Single();
            var fitted = ImageSteps.Fit(Copy(cropped), fit.BoxWidth, fit.BoxHeight, fit.Upscale);
            var frame = preprocess.Steps.OfType<CenterOfMassStep>().Single();
            var framed = ImageSteps.CenterOfMass(Copy(fitted), frame.Width, frame.Height, frame.Fill);
            return new Stages(source, decoded, inverted, cleaned, cropped, fitted, framed);
        }

        public void Dispose()
        {
            foreach (var image in (ReadOnlySpan<FloatImage>)[Source, Decoded, Inverted, Cleaned, Cropped, Fitted, Framed])
            {
                image.Dispose();
            }
        }
    }
}
