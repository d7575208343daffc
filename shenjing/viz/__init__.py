"""Seeing inside a network: backpropagation with real numbers, gradient flow, and
pictures of training (curves, confusion matrix, gradient flow), and drawings of
computation graphs (``draw_graph``)."""

from shenjing.viz.backprop import BackpropExplanation, LayerBackprop, explain_backprop
from shenjing.viz.gradient_flow import (
    GradientFlow,
    first_layer_ratio,
    gradient_flow_experiment,
    gradient_norms,
)
from shenjing.viz.graph_drawing import draw_graph
from shenjing.viz.plots import plot_confusion, plot_curves, plot_gradient_flow
