using System.Buffers.Binary;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Postprocessing.Apis;
using MlPlatform.Postprocessing.Processing;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>The arithmetic on its own, where the two top-k strategies can be set against each other.</summary>
public sealed class ClassScoresTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(ClassScores.InsertionLimit)]
    [InlineData(ClassScores.InsertionLimit + 1)]
    [InlineData(200)]
    public void SelectTopK_ScoresWithManyTies_MatchesAReferenceSort(int k)
    {
        var random = new Random(1234);
        var scores = Enumerable.Range(0, 200).Select(_ => (double)random.Next(0, 15)).ToArray();

        var top = new int[k];
        ClassScores.SelectTopK(scores, scores.Length, top, new int[scores.Length]);

        Assert.Equal(PostprocessHttp.Rank(scores, k), top);
    }

    [Fact]
    public void SelectTopK_NegativeZeroAndZero_TieByIndex()
    {
        double[] scores = [0.0, -0.0, 0.0, -1];
        var top = new int[3];

        ClassScores.SelectTopK(scores, scores.Length, top, []);

        Assert.Equal([0, 1, 2], top);
    }

    [Fact]
    public void TrySoftmax_LogitsThatOverflowExp_StaysFiniteAndSumsToOne()
    {
        double[] logits = [1000, 1001, -1000, 710];

        Assert.True(ClassScores.TrySoftmax(logits));

        Assert.All(logits, p => Assert.True(double.IsFinite(p)));
        Assert.Equal(1.0, logits.Sum(), 12);
        PostprocessHttp.AssertClose(1 / (1 + Math.Exp(-1)), logits[1], 1e-15);
    }

    [Fact]
    public void TrySoftmax_AllNegativeInfinity_Fails()
    {
        double[] logits = [double.NegativeInfinity, double.NegativeInfinity];

        Assert.False(ClassScores.TrySoftmax(logits));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void IndexOfUnusable_InfinitiesAndNaN_DependOnWhetherScoresAreLogits(bool logits, int expected)
    {
        double[] scores = [0, double.NegativeInfinity, double.PositiveInfinity, double.NaN];

        Assert.Equal(expected, ClassScores.IndexOfUnusable(scores, logits));
    }

    [Theory]
    [InlineData(TensorDataType.Fp16)]
    [InlineData(TensorDataType.Fp32)]
    [InlineData(TensorDataType.Fp64)]
    public void Read_UnalignedLittleEndianRow_WidensEveryElement(TensorDataType dataType)
    {
        double[] values = [0.5, -2, 1024, 0.125];
        var size = dataType.ElementSize;
        var raw = new byte[1 + values.Length * size];
        for (var i = 0; i < values.Length; i++)
        {
            var slot = raw.AsSpan(1 + i * size, size);
            switch (dataType)
            {
                case TensorDataType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(slot, (Half)values[i]); break;
                case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(slot, (float)values[i]); break;
                default: BinaryPrimitives.WriteDoubleLittleEndian(slot, values[i]); break;
            }
        }

        var row = new double[values.Length];
        ClassScores.Read(raw.AsSpan(1), dataType, row);

        Assert.Equal(values, row);
    }

    [Fact]
    public void Options_Default_BodyLimitIsEightMebibytes()
    {
        Assert.Equal(8L * 1024 * 1024, new PostprocessingOptions().MaxRequestBodyBytes);
    }
}
