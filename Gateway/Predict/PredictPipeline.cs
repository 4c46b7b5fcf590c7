using MlPlatform.Contracts.Buffers;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Predict;

/// <summary>How a run of the pipeline ended: the hop that ended it and its reply, postprocessing's success or the first hop that failed.</summary>
internal readonly record struct PipelineOutcome(string Hop, HopReply Reply);

/// <summary>One prediction: the client's body to preprocessing, its output to inference, that output to postprocessing.</summary>
internal sealed class PredictPipeline(HopInvoker hops, GatewayMetrics metrics)
{
    public async Task<PipelineOutcome> RunAsync(HttpContext context, string model, PooledBody input, KeyValuePair<string, string>[] headers)
    {
        var escaped = Uri.EscapeDataString(model);
        var requestId = RequestId.Of(context);

        var preprocessed = await hops.SendAsync(
            context, BackendServices.Preprocessing, model,
            new HopRequest($"/v1/preprocess/{escaped}", input.Memory, context.Request.ContentType, null, requestId, headers)).ConfigureAwait(false);
        if (!preprocessed.Succeeded)
        {
            return new(BackendServices.Preprocessing, preprocessed);
        }

        HopReply inferred;
        using (preprocessed)
        {
            inferred = await hops.SendAsync(
                context, BackendServices.Inference, model,
                new HopRequest($"/v2/models/{escaped}/infer", preprocessed.Body!.Memory, preprocessed.ContentType, preprocessed.InferenceHeaderLength, requestId, headers)).ConfigureAwait(false);
        }

        if (!inferred.Succeeded)
        {
            return new(BackendServices.Inference, inferred);
        }

        metrics.ModelServed(model);

        using (inferred)
        {
            var postprocessed = await hops.SendAsync(
                context, BackendServices.Postprocessing, model,
                new HopRequest($"/v1/postprocess/{escaped}", inferred.Body!.Memory, inferred.ContentType, inferred.InferenceHeaderLength, requestId, headers)).ConfigureAwait(false);
            return new(BackendServices.Postprocessing, postprocessed);
        }
    }
}
