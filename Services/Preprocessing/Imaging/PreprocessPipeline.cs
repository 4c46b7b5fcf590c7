using System.Numerics.Tensors;
using MlPlatform.Preprocessing.Config;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// A model's <c>preprocess</c> section made runnable: decodes an image, runs the steps and writes one
/// instance of the tensor, normalised and in the model's layout.
/// </summary>
internal sealed class PreprocessPipeline
{
    private readonly DecodeStep _decode;
    private readonly bool _grayscaleDecode;
    private readonly PreprocessStep[] _steps;
    private readonly ResizeShorterThenCrop? _leadingResizeCrop;
    private readonly float[] _gain;
    private readonly float[] _offset;

    /// <summary>For each channel of the tensor, the channel of the image it is read from: the order is swapped as the tensor is written.</summary>
    private readonly int[] _sourceChannel;

    public PreprocessPipeline(string model, PreprocessConfig config, int maxBatchSize)
    {
        Model = model;
        Config = config;
        Layout = config.TensorLayout;
        InstanceShape = config.InstanceShape;
        InstanceLength = config.Width * config.Height * config.Channels;

        // Without a batch dimension, or with a model the server never batches, one instance is the whole tensor.
        MaxInstances = Layout.HasBatch() && maxBatchSize > 0 ? maxBatchSize : 1;
        MaxBatchSize = maxBatchSize;

        _decode = (DecodeStep)config.Steps[0];
        var normalize = config.Steps[^1] as NormalizeStep;

        // A grayscale step straight after decode is folded into it, so the decoder writes one channel instead of three.
        _grayscaleDecode = config.Steps.Count > 1 && config.Steps[1] is GrayscaleStep;
        _steps = config.Steps.Skip(_grayscaleDecode ? 2 : 1).Where(step => step is not NormalizeStep).ToArray();

        // ImageNet-style steps (resize_shorter, center_crop) right after decode run on the decoded rows as they are read.
        if (_steps is [ResizeShorterStep shorter, CenterCropStep crop, ..])
        {
            _leadingResizeCrop = new ResizeShorterThenCrop(shorter.Size, crop.Width, crop.Height);
        }

        _sourceChannel = config.IsBgr ? [2, 1, 0] : [.. Enumerable.Range(0, config.Channels)];

        // (v * scale - mean) / std as one multiply-add per element; mean and std are per channel of the tensor.
        _gain = new float[config.Channels];
        _offset = new float[config.Channels];
        for (var c = 0; c < config.Channels; c++)
        {
            var scale = normalize?.Scale ?? 1;
            var mean = normalize is null ? 0 : normalize.Mean[normalize.Mean.Length == 1 ? 0 : c];
            var std = normalize is null ? 1 : normalize.Std[normalize.Std.Length == 1 ? 0 : c];
            _gain[c] = scale / std;
            _offset[c] = -mean / std;
        }
    }

    public string Model { get; }

    public PreprocessConfig Config { get; }

    public TensorLayout Layout { get; }

    /// <summary>One instance's shape, without a batch dimension.</summary>
    public long[] InstanceShape { get; }

    /// <summary>Elements in one instance.</summary>
    public int InstanceLength { get; }

    /// <summary>The most instances one request may hold.</summary>
    public int MaxInstances { get; }

    public int MaxBatchSize { get; }

    /// <summary>The tensor's shape for a batch of <paramref name="instances"/>.</summary>
    public long[] ShapeFor(int instances) => Layout.HasBatch() ? [instances, .. InstanceShape] : InstanceShape;

    /// <summary>Turns an encoded image into one instance.</summary>
    /// <param name="destination">Exactly <see cref="InstanceLength"/> elements.</param>
    /// <exception cref="PreprocessException">The image cannot be read, or is over <paramref name="maxPixels"/>.</exception>
    public DecodedSize Run(ReadOnlySpan<byte> encoded, long maxPixels, Span<float> destination)
    {
        var minSide = _decode.MinSide ?? 4 * Math.Max(Config.Width, Config.Height);
        var image = ImageDecoder.Decode(encoded, minSide, _decode.Background, _grayscaleDecode, maxPixels, _leadingResizeCrop, out var size, out var resized);
        try
        {
            for (var i = resized ? 2 : 0; i < _steps.Length; i++)
            {
                var step = _steps[i];
                if (step is ResizeShorterStep shorter && i + 1 < _steps.Length && _steps[i + 1] is CenterCropStep following)
                {
                    image = ImageSteps.ResizeShorterThenCenterCrop(image, shorter.Size, following.Width, following.Height, maxPixels);
                    i++;
                    continue;
                }

                image = step switch
                {
                    GrayscaleStep => ImageSteps.Grayscale(image),
                    InvertStep invert => ImageSteps.Invert(image, invert.When == InvertStep.LightBackground),
                    RemoveBackgroundStep background => ImageSteps.RemoveBackground(image, background.Block),
                    AutocontrastStep contrast => ImageSteps.Autocontrast(image, contrast.Cutoff),
                    CropToInkStep crop => ImageSteps.CropToInk(image, crop.Threshold),
                    FitStep fit => ImageSteps.Fit(image, fit.BoxWidth, fit.BoxHeight, fit.Upscale),
                    CenterOfMassStep frame => ImageSteps.CenterOfMass(image, frame.Width, frame.Height, frame.Fill),
                    ResizeStep resize => ImageSteps.Resize(image, resize.Width, resize.Height, resize.Mode, resize.Fill),
                    ResizeShorterStep shorterOnly => ImageSteps.ResizeShorter(image, shorterOnly.Size, maxPixels),
                    CenterCropStep crop => ImageSteps.CenterCrop(image, crop.Width, crop.Height),
                    _ => throw new InvalidOperationException($"step '{step.Op}' has no implementation"),
                };
            }

            Write(image, destination);
            return size;
        }
        finally
        {
            image.Dispose();
        }
    }

    private void Write(FloatImage image, Span<float> destination)
    {
        // PreprocessConfig's validation follows sizes and channels through the steps, so this is a bug if it fails.
        if (image.Width != Config.Width || image.Height != Config.Height || image.Channels != Config.Channels || destination.Length != InstanceLength)
        {
            throw new InvalidOperationException(
                $"the steps of model '{Model}' made a {image.Width}x{image.Height}x{image.Channels} image, not {Config.Width}x{Config.Height}x{Config.Channels}");
        }

        var pixels = image.Pixels;
        if (image.Channels == 1)
        {
            // Multiplied, then added, each rounded as the scalar (pixel * gain) + offset is; a fused multiply-add would not be.
            TensorPrimitives.Multiply(pixels, _gain[0], destination);
            TensorPrimitives.Add(destination, _offset[0], destination);
            return;
        }

        // The channel swap and the normalisation are done as each level is written, each pixel read once.
        var (c0, c1, c2) = (_sourceChannel[0], _sourceChannel[1], _sourceChannel[2]);
        var (gain0, gain1, gain2) = (_gain[0], _gain[1], _gain[2]);
        var (offset0, offset1, offset2) = (_offset[0], _offset[1], _offset[2]);
        if (!Layout.IsChannelsFirst())
        {
            for (var i = 0; i < pixels.Length; i += 3)
            {
                var pixel = pixels.Slice(i, 3);
                var target = destination.Slice(i, 3);
                target[0] = (pixel[c0] * gain0) + offset0;
                target[1] = (pixel[c1] * gain1) + offset1;
                target[2] = (pixel[c2] * gain2) + offset2;
            }

            return;
        }

        var plane = image.Width * image.Height;
        var first = destination[..plane];
        var second = destination.Slice(plane, plane);
        var third = destination.Slice(2 * plane, plane);
        for (int p = 0, i = 0; p < plane; p++, i += 3)
        {
            var pixel = pixels.Slice(i, 3);
            first[p] = (pixel[c0] * gain0) + offset0;
            second[p] = (pixel[c1] * gain1) + offset1;
            third[p] = (pixel[c2] * gain2) + offset2;
        }
    }
}
