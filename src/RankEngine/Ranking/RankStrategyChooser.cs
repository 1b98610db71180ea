using System.Numerics.Tensors;

namespace RankEngine.Ranking;

/// <summary>
/// How a request is personalised, from what is known: the user's profile and model vectors, a query text, or
/// nothing (cold start: the query alone, else popularity), with the sentence the response explains it by.
/// </summary>
internal static class RankStrategyChooser
{
    /// <summary>The chosen strategy, its explanation, the content-space query and the parameters to rank with.</summary>
    public readonly record struct Choice(RankStrategy Strategy, string Explanation, float[]? Content, RankingParameters Parameters);

    /// <param name="userId">The request's user id, or null.</param>
    /// <param name="userKnown">True when the store has that user.</param>
    /// <param name="userContent">The user's pooled content profile, or null.</param>
    /// <param name="userCollab">The user's pooled collab profile (only without a model), or null.</param>
    /// <param name="modelVector">The model's user vector, or null.</param>
    /// <param name="queryVector">The encoded query text, or null.</param>
    /// <param name="parameters">The resolved parameters.</param>
    /// <param name="contentWeightGiven">True when the request set the content weight itself (then it is kept as given).</param>
    public static Choice Choose(string? userId, bool userKnown, float[]? userContent, float[]? userCollab, float[]? modelVector, float[]? queryVector,
        RankingParameters parameters, bool contentWeightGiven = false)
    {
        // A query asks for its text to count: a trained model may have tuned the profile's content weight to 0 (its
        // item factors already carry what the profile's content would add), but that must not silence the query.
        if (queryVector is not null && !contentWeightGiven && parameters.ContentWeight == 0)
            parameters = parameters with { ContentWeight = 1 };
        if (userContent is not null || userCollab is not null || modelVector is not null)
        {
            string explanation = queryVector is null ? "personalised from the user's profile" : "personalised from the user's profile and the query";
            float[]? content = queryVector is null ? userContent : userContent is null ? queryVector : Combine(userContent, queryVector);
            return new Choice(RankStrategy.Personalized, explanation, content, parameters);
        }
        string who = userId is null ? "no user given" : !userKnown ? $"unknown user '{userId}'" : $"user '{userId}' has no usable history";
        if (queryVector is not null)
            return new Choice(RankStrategy.QueryOnly, $"{who}: cold start, ranked by the query alone", queryVector, parameters);
        var boosts = new Dictionary<string, float>(parameters.Boosts) { [RankParameterResolver.PopularityField] = 1f };
        return new Choice(RankStrategy.Popularity, $"{who}: cold start, ranked by popularity", null, parameters with { Boosts = boosts });
    }

    /// <summary>The unit vector along the sum of two unit vectors (profile and query weigh the same).</summary>
    private static float[] Combine(float[] a, float[] b)
    {
        var sum = new float[a.Length];
        TensorPrimitives.Add(a, b, sum);
        float norm = TensorPrimitives.Norm(sum);
        if (norm > 0) TensorPrimitives.Multiply(sum, 1f / norm, sum);
        return sum;
    }
}
